"""High-risk requests: furthest stage, stage times, and the clocks against the time standards.

    >>> request = new_request()
    >>> apply_request_event(request, "request.accepted", at=300.0, seq=4)
    []
    >>> apply_request_event(request, "request.submitted", at=0.0, seq=5,
    ...                     category="stroke", from_facility="a", to_facility="b")
    [('accepted', 300.0)]

A request value (streams.domain.state.RequestState) keeps `submitted` ([at, seq] of the first
submission), `category`, `from_facility`, `to_facility` (fixed by the first submission) and
`stages` {stage: [at, seq]} (the first accepted event of each stage fixes its time).
Observations (stage, seconds) are returned once both times of a pair are known.
"""

from __future__ import annotations

from typing import Any, Final

from schemas.events import REQUEST_STAGE_OF_TYPE, STAGES, TIMED_STAGES
from streams.domain import clocks

RequestState = dict[str, Any]
ENDINGS: Final = ("completed", "rejected", "cancelled")
_RANK: Final[dict[str, int]] = {stage: rank for rank, stage in enumerate(STAGES)}


def new_request() -> RequestState:
    return {
        "submitted": None,
        "category": None,
        "from_facility": None,
        "to_facility": None,
        "stages": {},
        "last": 0.0,
    }


def apply_request_event(
    request: RequestState,
    event_type: str,
    *,
    at: float,
    seq: int,
    category: str | None = None,
    from_facility: str | None = None,
    to_facility: str | None = None,
) -> list[tuple[str, float]]:
    """Apply a request.* event; return the (stage, seconds-from-submission) pairs completed by it."""
    request["last"] = max(request["last"], at)
    stage = REQUEST_STAGE_OF_TYPE[event_type]
    if stage == "submitted":
        if request["submitted"] is not None:
            return []
        request.update(
            submitted=[at, seq], category=category, from_facility=from_facility, to_facility=to_facility
        )
        return [(s, max(0.0, request["stages"][s][0] - at)) for s in TIMED_STAGES if s in request["stages"]]
    if stage in request["stages"]:
        return []
    request["stages"][stage] = [at, seq]
    if request["submitted"] is None or stage not in TIMED_STAGES:
        return []
    return [(stage, max(0.0, at - request["submitted"][0]))]


def furthest_stage(request: RequestState) -> str:
    """The furthest of submitted → accepted → dispatched → arrived → completed reached."""
    reached = [stage for stage in request["stages"] if stage in _RANK]
    return max(reached, key=_RANK.__getitem__) if reached else "submitted"


def is_counted(request: RequestState) -> bool:
    """A request counts in the metrics only once its submission is accepted."""
    return request["submitted"] is not None


def is_open(request: RequestState) -> bool:
    return is_counted(request) and not any(stage in request["stages"] for stage in ENDINGS)


def has_reached(request: RequestState, stage: str) -> bool:
    return _RANK[furthest_stage(request)] >= _RANK[stage]


def clock_status(
    request: RequestState, stage: str, *, now: float, standard: float, due_soon_fraction: float
) -> str:
    """'overdue', 'due_soon' or 'ok' for an open request against a stage's time standard."""
    if not is_open(request) or has_reached(request, stage):
        return "ok"
    return clocks.clock_status(
        now - request["submitted"][0], standard=standard, due_soon_share=due_soon_fraction
    )
