"""The high-risk request board: every open request of every worker, with its clock.

    >>> rows = board_rows([answer_a, answer_b], due_soon_fraction=0.8)
    >>> rows[0]["status"]            # the most urgent first
    'overdue'

A request runs against one clock at a time: acceptance until it is accepted, then arrival until
the patient arrived; after arrival no standard is left (handover only). The clock turns amber at
`due_soon_fraction` of the standard and red at the standard, as the service's own metrics do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final, Literal

from schemas.events import STAGES
from streams.wall.sources import WorkerAnswer

Status = Literal["overdue", "due_soon", "ok"]
_STATUS_RANK: Final[dict[Status, int]] = {"overdue": 0, "due_soon": 1, "ok": 2}
# The standard a request runs against, by its furthest stage (None: no standard left).
_CLOCK_OF_STAGE: Final[dict[str, str | None]] = {
    "submitted": "accepted",
    "accepted": "arrived",
    "dispatched": "arrived",
    "arrived": None,
    "completed": None,
}


def request_row(request: dict[str, Any], *, due_soon_fraction: float) -> dict[str, Any]:
    """One board row from one request of /api/requests/open."""
    stage = str(request.get("stage", "submitted"))
    clock = _CLOCK_OF_STAGE.get(stage)
    elapsed = float(request.get("elapsed_seconds", 0.0))
    standard = float(request.get("standards", {}).get(clock, 0.0)) if clock else 0.0
    fraction = elapsed / standard if standard > 0 else None
    status: Status = "ok"
    if fraction is not None and fraction >= 1.0:
        status = "overdue"
    elif fraction is not None and fraction >= due_soon_fraction:
        status = "due_soon"
    return {
        "display": request.get("display", ""),
        "category": request.get("category"),
        "from_facility": request.get("from_facility"),
        "to_facility": request.get("to_facility"),
        "stage": stage,
        "stage_index": STAGES.index(stage) if stage in STAGES else 0,
        "stage_count": len(STAGES),
        "submitted_at": request.get("submitted_at"),
        "elapsed_seconds": elapsed,
        "clock": clock,
        "standard_seconds": standard if clock else None,
        "fraction": fraction,
        "status": status,
        "partition": request.get("partition"),
    }


def _each_once(entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Entries of all answering workers, each once: during a rebalance two workers may briefly both
    serve a partition, and an entry is known by (partition, display number)."""
    seen: set[tuple[Any, Any]] = set()
    for entry in entries:
        key = (entry.get("partition"), entry.get("display"))
        if key not in seen:
            seen.add(key)
            yield entry


def board_rows(answers: Iterable[WorkerAnswer], *, due_soon_fraction: float) -> list[dict[str, Any]]:
    """Rows of all answering workers, most urgent first (a partition served twice counts once)."""
    requests = _each_once(request for answer in answers for request in answer.requests)
    rows = [request_row(request, due_soon_fraction=due_soon_fraction) for request in requests]
    rows.sort(
        key=lambda row: (_STATUS_RANK[row["status"]], -(row["fraction"] or 0.0), -row["elapsed_seconds"])
    )
    return rows


def _fraction(clock: dict[str, Any]) -> float:
    return float(clock["elapsed_seconds"]) / float(clock["standard_seconds"])


def case_row(case: dict[str, Any]) -> dict[str, Any]:
    """One open case of the five centers with the clock closest to (or past) its standard; the worker
    judged each clock already (due soon at the policy's share)."""
    clocks = [c for c in case.get("clocks", []) if float(c.get("standard_seconds") or 0) > 0]
    nearest = max(clocks, key=_fraction, default=None)
    return {
        "display": case.get("display", ""),
        "category": case.get("category"),
        "center": case.get("center"),
        "arrival_mode": case.get("arrival_mode"),
        "interval": nearest["interval"] if nearest else None,
        "elapsed_seconds": float(nearest["elapsed_seconds"]) if nearest else None,
        "standard_seconds": float(nearest["standard_seconds"]) if nearest else None,
        "fraction": _fraction(nearest) if nearest else None,
        "status": nearest["status"] if nearest else "ok",
        "partition": case.get("partition"),
    }


def case_rows(answers: Iterable[WorkerAnswer]) -> list[dict[str, Any]]:
    """One row per open case of all answering workers, most urgent first, each case once."""
    rows = [case_row(case) for case in _each_once(case for answer in answers for case in answer.cases)]
    rows.sort(key=lambda row: (_STATUS_RANK[row["status"]], -(row["fraction"] or 0.0)))
    return rows


def missing_partitions(answers: Iterable[WorkerAnswer], expected: int) -> list[int]:
    """Request partitions no answering worker reported (their requests are missing from the board)."""
    served = {p for answer in answers if answer.ok for p in answer.partitions}
    return [p for p in range(expected) if p not in served]
