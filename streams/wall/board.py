"""The high-risk request board: every open request of every worker, with its clock.

    >>> rows = board_rows([answer_a, answer_b], due_soon_fraction=0.8)
    >>> rows[0]["status"]            # the most urgent first
    'overdue'

A request runs against one clock at a time: acceptance until it is accepted, then arrival until
the patient arrived; after arrival no standard is left (handover only). The clock turns amber at
`due_soon_fraction` of the standard and red at the standard, as the service's own metrics do.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def board_rows(answers: Iterable[WorkerAnswer], *, due_soon_fraction: float) -> list[dict[str, Any]]:
    """Rows of all answering workers, most urgent first (a partition served twice counts once)."""
    seen: set[tuple[Any, Any]] = set()
    rows: list[dict[str, Any]] = []
    for answer in answers:
        for request in answer.requests:
            # During a rebalance two workers may briefly both serve a partition.
            key = (request.get("partition"), request.get("display"))
            if key in seen:
                continue
            seen.add(key)
            rows.append(request_row(request, due_soon_fraction=due_soon_fraction))
    rows.sort(
        key=lambda row: (_STATUS_RANK[row["status"]], -(row["fraction"] or 0.0), -row["elapsed_seconds"])
    )
    return rows


def _fraction(clock: dict[str, Any]) -> float:
    return float(clock["elapsed_seconds"]) / float(clock["standard_seconds"])


def case_rows(answers: Iterable[WorkerAnswer]) -> list[dict[str, Any]]:
    """One row per open case of the five centers, with the clock closest to (or past) its standard;
    most urgent first. The worker judged each clock already (due soon at the policy's share)."""
    seen: set[tuple[Any, Any]] = set()
    rows: list[dict[str, Any]] = []
    for answer in answers:
        for case in answer.cases:
            key = (case.get("partition"), case.get("display"))
            if key in seen:
                continue
            seen.add(key)
            clocks = [c for c in case.get("clocks", []) if float(c.get("standard_seconds") or 0) > 0]
            nearest = max(clocks, key=_fraction, default=None)
            fraction = _fraction(nearest) if nearest else None
            rows.append(
                {
                    "display": case.get("display", ""),
                    "category": case.get("category"),
                    "center": case.get("center"),
                    "arrival_mode": case.get("arrival_mode"),
                    "interval": nearest["interval"] if nearest else None,
                    "elapsed_seconds": float(nearest["elapsed_seconds"]) if nearest else None,
                    "standard_seconds": float(nearest["standard_seconds"]) if nearest else None,
                    "fraction": fraction,
                    "status": nearest["status"] if nearest else "ok",
                    "partition": case.get("partition"),
                }
            )
    rows.sort(key=lambda row: (_STATUS_RANK[row["status"]], -(row["fraction"] or 0.0)))
    return rows


def missing_partitions(answers: Iterable[WorkerAnswer], expected: int) -> list[int]:
    """Request partitions no answering worker reported (their requests are missing from the board)."""
    served = {p for answer in answers if answer.ok for p in answer.partitions}
    return [p for p in range(expected) if p not in served]
