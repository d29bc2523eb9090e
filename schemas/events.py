"""The event contract (../shared/EVENTS.md) as pydantic v2 models.

    >>> from schemas.events import EVENT_ADAPTER
    >>> EVENT_ADAPTER.validate_python({...})  # -> BedAdmit | EdArrival | ...

Every model ignores unknown extra fields (forward compatibility): they are dropped on
validation, so they can never reach a metric or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal, Union

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    model_validator,
)

from schemas.clinical import (
    CATEGORIES as CATEGORIES,  # the requests' categories are the centers': one list
)
from schemas.clinical import (
    DIAGNOSIS_MILESTONE,
    STRATEGY_MILESTONES,
    CaseArrival,
    Category,
    Diagnosis,
    Milestone,
    Strategy,
)

Feed = Literal["beds", "visits", "requests"]
FEEDS: Final[tuple[Feed, ...]] = ("beds", "visits", "requests")
SCHEMA_VERSION: Final = 1

ArrivalMode = Literal["walk_in", "ambulance", "referral"]
Disposition = Literal["admitted", "discharged", "transferred", "left_without_being_seen", "died"]
DISPOSITIONS: Final[tuple[Disposition, ...]] = (
    "admitted",
    "discharged",
    "transferred",
    "left_without_being_seen",
    "died",
)
# Stages in the order a request moves through them; `rejected`/`cancelled` end it early.
Stage = Literal["submitted", "accepted", "dispatched", "arrived", "completed"]
STAGES: Final[tuple[Stage, ...]] = ("submitted", "accepted", "dispatched", "arrived", "completed")
TimedStage = Literal["accepted", "dispatched", "arrived", "completed"]
TIMED_STAGES: Final[tuple[TimedStage, ...]] = ("accepted", "dispatched", "arrived", "completed")
StandardStage = Literal["accepted", "arrived"]
STANDARD_STAGES: Final[tuple[StandardStage, ...]] = ("accepted", "arrived")

# Two-way referral (双向转诊, docs/referrals.md): requested -> accepted | rejected -> arrived -> returned
# (back to the sender) or closed (ended at the receiver); cancelled by the sender before arrival.
ReferralStage = Literal["requested", "accepted", "arrived", "returned", "closed", "rejected", "cancelled"]
REFERRAL_STAGES: Final[tuple[str, ...]] = ("requested", "accepted", "arrived", "returned", "closed")
REFERRAL_TIMED_STAGES: Final[tuple[str, ...]] = ("accepted", "arrived")
# Between two alliance facilities the direction follows their levels; `external` is a destination
# outside the alliance, named by its code (never an unknown facility: county retention needs them).
Direction = Literal["up", "down", "lateral", "external"]
DIRECTIONS: Final[tuple[Direction, ...]] = ("up", "down", "lateral", "external")
ExternalScope = Literal["in_county", "out_of_county"]
EXTERNAL_SCOPES: Final[tuple[ExternalScope, ...]] = ("in_county", "out_of_county")
# An outside destination's label value: its scope, never its code (codes are unbounded).
EXTERNAL_FACILITY_LABEL: Final[dict[str, str]] = {scope: f"external_{scope}" for scope in EXTERNAL_SCOPES}
# Why a patient is referred: a closed list, so the dashboards can group by it (卫健委's usual causes).
ReferralReason = Literal[
    "beyond_capability",  # 超出诊疗能力: needs a level the sender does not have
    "equipment",  # 设备/检查: an examination or device the sender lacks
    "specialist",  # 专科诊治
    "recovery",  # 康复/恢复期: continuing care nearer home (the usual down-referral)
    "chronic_care",  # 慢病管理: chronic disease management at the primary level
    "patient_choice",  # 患者意愿
    "other",
]
REFERRAL_REASONS: Final[tuple[str, ...]] = ReferralReason.__args__  # type: ignore[attr-defined]
Department = Annotated[StrictStr, Field(min_length=1, max_length=64)]
ExternalCode = Annotated[
    StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]

# RFC 3339 date-time with a mandatory offset (Z or ±hh:mm); pydantic alone would also take
# unix numbers and offset-less strings, which the contract forbids.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _require_rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2026-11-22T08:15:00+08:00")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_require_rfc3339)]
# Pseudonyms are opaque strings chosen by the publisher; bounded so a state value stays small.
Pseudonym = Annotated[StrictStr, Field(min_length=1, max_length=128)]
EventId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
FacilityId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
WardId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
FreeText = Annotated[StrictStr, Field(max_length=500)]
BedCount = Annotated[StrictInt, Field(ge=0, le=100_000)]
TriageLevel = Annotated[StrictInt, Field(ge=1, le=4)]


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class Envelope(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Annotated[EventId, AfterValidator(_nonblank)]
    schema_version: Literal[1]
    facility_id: FacilityId
    occurred_at: Timestamp
    sent_at: Timestamp | None = None
    source: Annotated[StrictStr, Field(max_length=64)] | None = None


class Heartbeat(Envelope):
    type: Literal["heartbeat"]
    feed: Feed


class BedCensus(Envelope):
    type: Literal["bed.census"]
    ward_id: WardId
    beds_staffed: BedCount
    beds_occupied: BedCount


class BedAdmit(Envelope):
    type: Literal["bed.admit"]
    ward_id: WardId
    encounter_id: Pseudonym


class BedDischarge(Envelope):
    type: Literal["bed.discharge"]
    ward_id: WardId
    encounter_id: Pseudonym


class BedTransfer(Envelope):
    type: Literal["bed.transfer"]
    ward_id: WardId
    to_ward_id: WardId
    encounter_id: Pseudonym

    @model_validator(mode="after")
    def _wards_differ(self) -> BedTransfer:
        if self.to_ward_id == self.ward_id:
            raise ValueError("to_ward_id must differ from ward_id")
        return self


class BedCancel(Envelope):
    type: Literal["bed.cancel"]
    cancelled_event_id: EventId


class VisitOutpatient(Envelope):
    type: Literal["visit.outpatient"]
    department: Annotated[StrictStr, Field(max_length=64)] | None = None


class EdArrival(Envelope):
    type: Literal["ed.arrival"]
    visit_id: Pseudonym
    arrival_mode: ArrivalMode


class EdTriage(Envelope):
    type: Literal["ed.triage"]
    visit_id: Pseudonym
    level: TriageLevel


class EdDeparture(Envelope):
    type: Literal["ed.departure"]
    visit_id: Pseudonym
    disposition: Disposition


class RequestSubmitted(Envelope):
    type: Literal["request.submitted"]
    request_id: Pseudonym
    category: Category
    to_facility_id: FacilityId


class RequestAccepted(Envelope):
    type: Literal["request.accepted"]
    request_id: Pseudonym


class RequestRejected(Envelope):
    type: Literal["request.rejected"]
    request_id: Pseudonym
    reason: FreeText


class RequestDispatched(Envelope):
    type: Literal["request.dispatched"]
    request_id: Pseudonym


class RequestArrived(Envelope):
    type: Literal["request.arrived"]
    request_id: Pseudonym


class RequestCompleted(Envelope):
    type: Literal["request.completed"]
    request_id: Pseudonym


class RequestCancelled(Envelope):
    type: Literal["request.cancelled"]
    request_id: Pseudonym
    reason: FreeText


class ReferralRequested(Envelope):
    """The sender (`facility_id`) refers a patient to an alliance facility or to one outside it."""

    type: Literal["referral.requested"]
    referral_id: Pseudonym
    to_facility_id: FacilityId | None = None
    to_external_code: ExternalCode | None = None
    to_external_scope: ExternalScope | None = None
    reason: ReferralReason
    department: Department
    target_ward_id: WardId | None = None

    @model_validator(mode="after")
    def _one_destination(self) -> ReferralRequested:
        if (self.to_facility_id is None) == (self.to_external_code is None):
            raise ValueError("exactly one of to_facility_id and to_external_code is required")
        if (self.to_external_scope is None) != (self.to_external_code is None):
            raise ValueError("to_external_scope is required with to_external_code and only with it")
        if self.target_ward_id is not None and self.to_facility_id is None:
            raise ValueError("target_ward_id names a ward of to_facility_id: it needs to_facility_id")
        return self


class ReferralAccepted(Envelope):
    """The receiver accepts; it may name the ward the patient will go to."""

    type: Literal["referral.accepted"]
    referral_id: Pseudonym
    target_ward_id: WardId | None = None


class ReferralRejected(Envelope):
    type: Literal["referral.rejected"]
    referral_id: Pseudonym
    reason: FreeText


class ReferralArrived(Envelope):
    type: Literal["referral.arrived"]
    referral_id: Pseudonym


class ReferralReturned(Envelope):
    """The receiver sends the patient back to the sender (回转): the referral ends."""

    type: Literal["referral.returned"]
    referral_id: Pseudonym


class ReferralClosed(Envelope):
    """The referral ends at the receiver (discharged home, transferred on, died)."""

    type: Literal["referral.closed"]
    referral_id: Pseudonym


class ReferralCancelled(Envelope):
    type: Literal["referral.cancelled"]
    referral_id: Pseudonym
    reason: FreeText


class CaseOpened(Envelope):
    """A clinical case of a center begins; its `door_facility_id` is the hospital whose center counts it."""

    type: Literal["case.opened"]
    case_id: Pseudonym
    category: Category
    arrival_mode: CaseArrival
    door_facility_id: FacilityId


class CaseMilestone(Envelope):
    """A milestone of a case, where it happened (`facility_id`); diagnosis and strategy ride on theirs."""

    type: Literal["case.milestone"]
    case_id: Pseudonym
    category: Category
    milestone: Milestone
    diagnosis: Diagnosis | None = None
    strategy: Strategy | None = None
    bypassed_ed: StrictBool | None = None
    bypassed_ccu: StrictBool | None = None

    @model_validator(mode="after")
    def _detail_on_its_milestone(self) -> CaseMilestone:
        # A diagnosis without its milestone (or the reverse) would be silently lost or half-read.
        if (self.diagnosis is not None) != (self.milestone == DIAGNOSIS_MILESTONE):
            raise ValueError("diagnosis is required on the diagnosis milestone and only there")
        if (self.strategy is not None) != (self.milestone in STRATEGY_MILESTONES):
            raise ValueError(f"strategy is required on {' and '.join(STRATEGY_MILESTONES)} and only there")
        return self


class CaseClosed(Envelope):
    type: Literal["case.closed"]
    case_id: Pseudonym


BedEvent = BedCensus | BedAdmit | BedDischarge | BedTransfer | BedCancel
VisitEvent = VisitOutpatient | EdArrival | EdTriage | EdDeparture
RequestEvent = (
    RequestSubmitted
    | RequestAccepted
    | RequestRejected
    | RequestDispatched
    | RequestArrived
    | RequestCompleted
    | RequestCancelled
)
CaseEvent = CaseOpened | CaseMilestone | CaseClosed
ReferralEvent = (
    ReferralRequested
    | ReferralAccepted
    | ReferralRejected
    | ReferralArrived
    | ReferralReturned
    | ReferralClosed
    | ReferralCancelled
)
Event = Annotated[
    Union[Heartbeat, BedEvent, VisitEvent, RequestEvent, CaseEvent, ReferralEvent],  # noqa: UP007 - a discriminated union needs Union
    Field(discriminator="type"),
]
EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)

EVENT_MODELS: Final[dict[str, type[Envelope]]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (
        Heartbeat,
        BedCensus,
        BedAdmit,
        BedDischarge,
        BedTransfer,
        BedCancel,
        VisitOutpatient,
        EdArrival,
        EdTriage,
        EdDeparture,
        RequestSubmitted,
        RequestAccepted,
        RequestRejected,
        RequestDispatched,
        RequestArrived,
        RequestCompleted,
        RequestCancelled,
        CaseOpened,
        CaseMilestone,
        CaseClosed,
        ReferralRequested,
        ReferralAccepted,
        ReferralRejected,
        ReferralArrived,
        ReferralReturned,
        ReferralClosed,
        ReferralCancelled,
    )
}
EventType = str

# Which feed each type belongs to; heartbeats belong to every feed (their `feed` field says which).
TYPE_FEED: Final[dict[str, Feed]] = {
    **{t: "beds" for t in EVENT_MODELS if t.startswith("bed.")},
    **{t: "visits" for t in EVENT_MODELS if t.startswith(("visit.", "ed."))},
    # Cases and referrals ride the requests feed: its heartbeats and staleness already cover the
    # referral platform and the centers' systems, and a transferred patient's case shares its
    # request's key.
    **{t: "requests" for t in EVENT_MODELS if t.startswith(("request.", "case.", "referral."))},
}
REQUEST_STAGE_OF_TYPE: Final[dict[str, str]] = {
    "request.submitted": "submitted",
    "request.accepted": "accepted",
    "request.dispatched": "dispatched",
    "request.arrived": "arrived",
    "request.completed": "completed",
    "request.rejected": "rejected",
    "request.cancelled": "cancelled",
}
REFERRAL_STAGE_OF_TYPE: Final[dict[str, str]] = {
    t: t.removeprefix("referral.") for t in EVENT_MODELS if t.startswith("referral.")
}


def types_of_feed(feed: Feed) -> tuple[str, ...]:
    """The event types a feed's topic may carry, heartbeat included."""
    return ("heartbeat", *(t for t, f in TYPE_FEED.items() if f == feed))


def message_key(event: Envelope) -> str:
    """The Kafka message key of an event (EVENTS.md, Transport): request_id, case_id, referral_id or
    facility_id."""
    key = key_of(event.model_dump())
    assert key is not None  # every envelope has a facility_id
    return key


def key_of(data: Mapping[str, Any]) -> str | None:
    """The key of an event's JSON object: its request_id, case_id or referral_id (every event of one
    request, case or referral on one partition), else its facility_id; None when none is a string."""
    for field_name in ("request_id", "case_id", "referral_id", "facility_id"):
        value = data.get(field_name)
        if isinstance(value, str):
            return value
    return None


def feed_of(event: Envelope) -> Feed:
    """The feed (topic) an event is published to."""
    if isinstance(event, Heartbeat):
        return event.feed
    return TYPE_FEED[event.type]  # type: ignore[attr-defined]


def epoch_seconds(moment: datetime) -> float:
    return moment.timestamp()
