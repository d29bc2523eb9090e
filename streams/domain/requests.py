"""The stage machinery of requests and referrals (a Flow each): furthest stage, stage times, clocks.

    >>> request = new_request()
    >>> apply_request_event(request, "request.accepted", at=300.0, seq=4)
    []
    >>> apply_request_event(request, "request.submitted", at=0.0, seq=5,
    ...                     category="stroke", from_facility="a", to_facility="b")
    [('accepted', 300.0)]

A Flow says how one kind of entity moves: the stage that starts it (its [at, seq] is kept under the
stage's own name), the order of progress, the endings, the stages reported once paired with the
start, and the stage of each event type. High-risk requests (REQUEST_FLOW, below) and two-way
referrals (streams.domain.referrals.REFERRAL_FLOW) share every function here.

A request value (streams.domain.state.RequestState) keeps `submitted` ([at, seq] of the first
submission), `category`, `from_facility`, `to_facility` (fixed by the first submission) and
`stages` {stage: [at, seq]} (the first accepted event of each stage fixes its time).
Observations (stage, seconds) are returned once both times of a pair are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from schemas.events import REQUEST_STAGE_OF_TYPE, STAGES, TIMED_STAGES
from streams.domain import clocks

RequestState = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Flow:
    """The stages of one kind of entity (requests, referrals)."""

    start: str  # counts the entity; its [at, seq] is kept under this key of the value
    order: tuple[str, ...]  # progress, start first: the furthest reached is the entity's stage
    endings: tuple[str, ...]  # any of them closes the entity
    paired: tuple[str, ...]  # reported (stage, seconds from the start) once both times are known
    stage_of_type: Mapping[str, str]

    def rank(self, stage: str) -> int:
        return self.order.index(stage)


ENDINGS: Final = ("completed", "rejected", "cancelled")
REQUEST_FLOW: Final = Flow(
    start="submitted",
    order=tuple(STAGES),
    endings=ENDINGS,
    paired=tuple(TIMED_STAGES),
    stage_of_type=REQUEST_STAGE_OF_TYPE,
)


def new_request() -> RequestState:
    return {
        "submitted": None,
        "category": None,
        "from_facility": None,
        "to_facility": None,
        "stages": {},
        "last": 0.0,
    }


def apply_stage_event(
    entity: dict[str, Any], flow: Flow, event_type: str, *, at: float, seq: int, fixed: Mapping[str, Any]
) -> list[tuple[str, float]]:
    """Apply an event of `flow`; the first start event also sets the `fixed` fields (the others'
    `fixed` is ignored). Return the (paired stage, seconds from the start) pairs completed by it,
    a negative time as 0."""
    entity["last"] = max(entity["last"], at)
    stage = flow.stage_of_type[event_type]
    stages = entity["stages"]
    if stage == flow.start:
        if entity[flow.start] is not None:
            return []
        entity.update(fixed)
        entity[flow.start] = [at, seq]
        return [(s, max(0.0, stages[s][0] - at)) for s in flow.paired if s in stages]
    if stage in stages:
        return []
    stages[stage] = [at, seq]
    if entity[flow.start] is None or stage not in flow.paired:
        return []
    return [(stage, max(0.0, at - entity[flow.start][0]))]


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
    fixed = {"category": category, "from_facility": from_facility, "to_facility": to_facility}
    return apply_stage_event(request, REQUEST_FLOW, event_type, at=at, seq=seq, fixed=fixed)


def started_at(entity: dict[str, Any], flow: Flow = REQUEST_FLOW) -> float:
    """When a counted entity started (its first start event)."""
    return float(entity[flow.start][0])


def furthest_stage(entity: dict[str, Any], flow: Flow = REQUEST_FLOW) -> str:
    """The furthest stage of the flow's order reached (requests: submitted → accepted → dispatched
    → arrived → completed); the start when none after it is."""
    reached = [stage for stage in entity["stages"] if stage in flow.order]
    return max(reached, key=flow.rank) if reached else flow.start


def is_counted(entity: dict[str, Any], flow: Flow = REQUEST_FLOW) -> bool:
    """An entity counts in the metrics only once its start event is accepted."""
    return entity[flow.start] is not None


def is_open(entity: dict[str, Any], flow: Flow = REQUEST_FLOW) -> bool:
    return is_counted(entity, flow) and not any(stage in entity["stages"] for stage in flow.endings)


def has_reached(entity: dict[str, Any], stage: str, flow: Flow = REQUEST_FLOW) -> bool:
    return flow.rank(furthest_stage(entity, flow)) >= flow.rank(stage)


def clock_status(
    request: RequestState, stage: str, *, now: float, standard: float, due_soon_fraction: float
) -> str:
    """'overdue', 'due_soon' or 'ok' for an open request against a stage's time standard."""
    if not is_open(request) or has_reached(request, stage):
        return "ok"
    return clocks.clock_status(
        now - request["submitted"][0], standard=standard, due_soon_share=due_soon_fraction
    )
