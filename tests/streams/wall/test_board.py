"""The request board's clocks: amber from 80 % of the standard, red from 100 %, one clock at a time."""

from __future__ import annotations

from typing import Any

import pytest

from streams.wall.board import board_rows, missing_partitions, request_row
from streams.wall.sources import WorkerAnswer

ACCEPT, ARRIVE = 600.0, 3600.0


def request(display: str, stage: str, elapsed: float, partition: int = 0) -> dict[str, Any]:
    return {
        "display": display,
        "category": "stroke",
        "from_facility": "yx-thc-zhigong",
        "to_facility": "yx-ch-people",
        "stage": stage,
        "submitted_at": "2026-11-22T08:00:00Z",
        "stage_times": {},
        "elapsed_seconds": elapsed,
        "standards": {"accepted": ACCEPT, "arrived": ARRIVE},
        "due_soon": [],
        "overdue": [],
        "partition": partition,
    }


@pytest.mark.parametrize(
    ("stage", "elapsed", "clock", "status"),
    [
        ("submitted", 479.0, "accepted", "ok"),  # 79.8 % of 10 min
        ("submitted", 480.0, "accepted", "due_soon"),  # exactly 80 %
        ("submitted", 599.9, "accepted", "due_soon"),
        ("submitted", 600.0, "accepted", "overdue"),  # the standard itself is already late
        ("accepted", 2000.0, "arrived", "ok"),  # accepted: now the arrival clock runs
        ("dispatched", 2880.0, "arrived", "due_soon"),
        ("dispatched", 4000.0, "arrived", "overdue"),
        ("arrived", 9999.0, None, "ok"),  # after arrival only the handover is left: no standard
    ],
)
def test_a_request_runs_against_the_clock_of_its_next_stage(
    stage: str, elapsed: float, clock: str | None, status: str
) -> None:
    row = request_row(request("No. 1", stage, elapsed), due_soon_fraction=0.8)
    assert (row["clock"], row["status"]) == (clock, status)
    assert row["stage_index"] == ["submitted", "accepted", "dispatched", "arrived", "completed"].index(stage)
    if clock is not None:
        assert row["fraction"] == pytest.approx(elapsed / (ACCEPT if clock == "accepted" else ARRIVE))


def test_the_board_merges_workers_most_urgent_first_and_counts_a_request_once() -> None:
    first = WorkerAnswer(
        "http://a",
        requests=[request("No. 1", "accepted", 100.0, 0), request("No. 2", "submitted", 650.0, 0)],
        partitions=[0],
    )
    # During a rebalance the second worker briefly serves partition 0 too.
    second = WorkerAnswer(
        "http://b",
        requests=[request("No. 3", "submitted", 500.0, 1), request("No. 1", "accepted", 101.0, 0)],
        partitions=[0, 1],
    )
    rows = board_rows([first, second], due_soon_fraction=0.8)
    assert [(r["display"], r["status"]) for r in rows] == [
        ("No. 2", "overdue"),
        ("No. 3", "due_soon"),
        ("No. 1", "ok"),
    ]


def test_missing_partitions_are_those_no_answering_worker_serves() -> None:
    answers = [
        WorkerAnswer("http://a", partitions=[0, 2]),
        WorkerAnswer("http://b", error="connection refused"),
        WorkerAnswer("http://c", partitions=[3]),
    ]
    assert missing_partitions(answers, 4) == [1]
    assert missing_partitions([], 2) == [0, 1]
