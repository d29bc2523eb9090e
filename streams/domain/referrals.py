"""Two-way referrals (双向转诊): the request stage machinery with the referral's flow, plus its
direction, target ward, pending limit and late acceptance (pure).

    >>> referral = new_referral()
    >>> apply_referral_event(referral, accepted, seq=4, registry=registry, limits=limits)
    ReferralChanges(counted=False, stage_seconds=[], endings=[], late=False)
    >>> apply_referral_event(referral, requested, seq=5, registry=registry, limits=limits)
    ReferralChanges(counted=True, stage_seconds=[('accepted', 9000.0)], endings=[], late=True)
    >>> is_pending(referral), target_ward(referral)
    (False, 'general-medicine')

A referral value (streams.domain.state.ReferralState) keeps `requested` ([at, seq] of the first
referral.requested), the `direction`, `reason`, `department`, sender (`from_facility`), receiver
(`to_facility`: a facility id or an outside destination's label, never its code) and requested
`ward` fixed by it, `accept_wards` (the ward each accepting facility's first referral.accepted
naming one named: the receiver's replaces the requested ward, whatever order they arrive in),
`stages` and `last`, as a request keeps them (streams.domain.requests).
Duplicates (same event_id) never reach this module: the pipeline drops them first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from schemas.events import (
    EXTERNAL_FACILITY_LABEL,
    REFERRAL_STAGE_OF_TYPE,
    REFERRAL_STAGES,
    REFERRAL_TIMED_STAGES,
    Direction,
    ReferralAccepted,
    ReferralEvent,
    ReferralRequested,
)
from schemas.policy import Referrals
from schemas.registry import LEVEL_RANK, Registry
from streams.domain import requests
from streams.domain.clocks import is_past

ReferralState = dict[str, Any]
REFERRAL_ENDINGS: Final = ("returned", "closed", "rejected", "cancelled")
REFERRAL_FLOW: Final = requests.Flow(
    start="requested",
    order=REFERRAL_STAGES,
    endings=REFERRAL_ENDINGS,
    paired=(*REFERRAL_TIMED_STAGES, *REFERRAL_ENDINGS),  # an ending counts once the request is known
    stage_of_type=REFERRAL_STAGE_OF_TYPE,
)


@dataclass(frozen=True, slots=True)
class ReferralChanges:
    """What one event completed: the referral counted (its first request), stage times to observe,
    endings to count, and whether its acceptance came at or past the pending limit."""

    counted: bool = False
    stage_seconds: list[tuple[str, float]] = field(default_factory=list)
    endings: list[str] = field(default_factory=list)
    late: bool = False


def new_referral() -> ReferralState:
    return {
        "requested": None, "direction": None, "reason": None, "department": None,
        "from_facility": None, "to_facility": None, "ward": None, "accept_wards": {},
        "stages": {}, "last": 0.0,
    }  # fmt: skip


def direction_of(event: ReferralRequested, registry: Registry) -> tuple[Direction, str]:
    """(direction, receiver label): by the registry levels of sender and receiver, `external` (and
    its scope's label) for a destination outside the alliance."""
    if event.to_facility_id is None:
        assert event.to_external_scope is not None  # the model requires one destination
        return "external", EXTERNAL_FACILITY_LABEL[event.to_external_scope]
    sender = LEVEL_RANK[registry.facilities[event.facility_id].level]
    receiver = LEVEL_RANK[registry.facilities[event.to_facility_id].level]
    direction: Direction = "up" if receiver > sender else "down" if receiver < sender else "lateral"
    return direction, event.to_facility_id


def apply_referral_event(
    referral: ReferralState, event: ReferralEvent, *, seq: int, registry: Registry, limits: Referrals
) -> ReferralChanges:
    """Apply a referral.* event (seq: its partition offset); return what it completed."""
    at = event.occurred_at.timestamp()
    fixed: dict[str, Any] = {}
    if isinstance(event, ReferralRequested):
        direction, receiver = direction_of(event, registry)
        fixed = {
            "direction": direction, "reason": event.reason, "department": event.department,
            "from_facility": event.facility_id, "to_facility": receiver, "ward": event.target_ward_id,
        }  # fmt: skip
    if isinstance(event, ReferralAccepted) and event.target_ward_id is not None:
        referral["accept_wards"].setdefault(event.facility_id, event.target_ward_id)
    first_request = isinstance(event, ReferralRequested) and referral["requested"] is None
    paired = requests.apply_stage_event(referral, REFERRAL_FLOW, event.type, at=at, seq=seq, fixed=fixed)
    timed = [(stage, seconds) for stage, seconds in paired if stage in REFERRAL_TIMED_STAGES]
    return ReferralChanges(
        counted=first_request,
        stage_seconds=timed,
        endings=[stage for stage, _ in paired if stage in REFERRAL_ENDINGS],
        # Paired now: this is the one event at which the acceptance's lateness is first known.
        late=any(stage == "accepted" for stage, _ in timed) and accepted_late(referral, limits=limits),
    )


def target_ward(referral: ReferralState) -> str | None:
    """The ward the patient goes to: the receiver's accepted one, else the requested one (or None)."""
    accepted = referral["accept_wards"].get(referral["to_facility"])
    return accepted if accepted is not None else referral["ward"]


def is_open(referral: ReferralState) -> bool:
    """Requested and not ended (returned, closed, rejected or cancelled)."""
    return requests.is_open(referral, REFERRAL_FLOW)


def is_pending(referral: ReferralState) -> bool:
    """Requested, no stage after it reached, not rejected or cancelled."""
    return is_open(referral) and requests.furthest_stage(referral, REFERRAL_FLOW) == "requested"


def furthest_stage(referral: ReferralState) -> str:
    return requests.furthest_stage(referral, REFERRAL_FLOW)


def elapsed(referral: ReferralState, *, now: float) -> float:
    """Seconds since the request (0 for a request time ahead of now)."""
    return max(0.0, now - requests.started_at(referral, REFERRAL_FLOW))


def is_expired(referral: ReferralState, *, now: float, limits: Referrals) -> bool:
    """Pending and now − requested at or past the policy's limit for its direction."""
    if not is_pending(referral):
        return False
    limit = limits.pending_limit_seconds(referral["direction"])
    return is_past(now - requests.started_at(referral, REFERRAL_FLOW), limit=limit)


def accepted_late(referral: ReferralState, *, limits: Referrals) -> bool:
    """Accepted at or past the pending limit (it still counts as accepted)."""
    accepted = referral["stages"].get("accepted")
    if accepted is None or not requests.is_counted(referral, REFERRAL_FLOW):
        return False
    seconds = accepted[0] - requests.started_at(referral, REFERRAL_FLOW)
    return is_past(seconds, limit=limits.pending_limit_seconds(referral["direction"]))
