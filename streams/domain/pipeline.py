"""One partition's batch of messages → state changes, effects and dead letters (pure).

    >>> store = DictStore({})                        # any StateStore
    >>> markers = Markers.load(store, partition=0)   # kept between batches
    >>> result = process_batch(store, rules, partition=0, messages=[Message(0, raw)], now=now,
    ...                        markers=markers)

The way of one message (ARCHITECTURE.md): skip it if the partition's totals already applied its
offset (a redelivery); decode it (a rejection is counted and dead-lettered); look its event_id up
(a duplicate is counted, nothing else); apply it to its entity value; add its effects to the
partition totals.

Keys and values are those of streams.domain.state. The totals (streams.domain.totals), the write
order (streams.domain.writeback), the store (streams.domain.store) and retention
(streams.domain.retention) each have their own module.

Why it is safe without transactions: every value remembers the last offset (`offset`) it applied, and
values are written entity/markers first, bucket totals next, the feed-wide totals last, all into
the one changelog partition of the source partition. A crash loses a suffix of those writes; the
redelivered messages then skip the values that already have them (the feed-wide totals' offset
decides whether a message is seen again at all, each other totals value's offset whether it still
needs an effect), and an entity value keeps the effects (`effects`) of offsets the feed-wide totals may
not have seen, so every totals value gets each effect exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from schemas.decode import Rejection, decode
from schemas.events import (
    BedCancel,
    BedCensus,
    BedEvent,
    BedTransfer,
    CaseEvent,
    EdArrival,
    EdDeparture,
    EdTriage,
    Envelope,
    Feed,
    ReferralEvent,
    RequestEvent,
    RequestSubmitted,
    VisitOutpatient,
)
from schemas.metrics import (
    CASE_BYPASS,
    CASE_INTERVAL_SECONDS,
    CASE_INTERVALS_WITHIN,
    ED_DEPARTURES,
    EVENT_DELAY,
    EVENTS,
    EVENTS_DUPLICATE,
    EVENTS_REJECTED,
    FACILITY_EVENTS,
    FEED_LAST_SEEN,
    REFERRAL_STAGE_SECONDS,
    REFERRALS,
    REFERRALS_ACCEPTED_LATE,
    REFERRALS_ENDED,
    REQUEST_STAGE_SECONDS,
    VISITS,
)
from schemas.policy import Centers, Referrals
from schemas.registry import Registry
from streams.domain import beds, cases, referrals, requests, visits
from streams.domain.dedupe import Markers
from streams.domain.effects import Effect, high, inc, observe
from streams.domain.state import (
    EntityValue,
    beds_key,
    case_key,
    new_entity,
    referral_key,
    referrals_day_key,
    request_key,
    totals_key,
    visit_key,
    visits_day_key,
)
from streams.domain.store import StateStore
from streams.domain.totals import Totals
from streams.domain.writeback import WriteBack

DAY_SECONDS: Final = 86_400


@dataclass(frozen=True, slots=True)
class Message:
    offset: int
    value: bytes
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    """What a batch needs beyond the messages: the feed, the registry, the clocks' bounds, the
    five centers' standards and the referrals' pending limits (the policy's)."""

    feed: Feed
    registry: Registry
    retention: timedelta
    zone: ZoneInfo
    centers: Centers
    referrals: Referrals

    @property
    def horizon_days(self) -> int:
        return int(self.retention.total_seconds() // DAY_SECONDS) + 1


@dataclass(frozen=True, slots=True)
class DeadLetter:
    offset: int
    rejection: Rejection
    raw: bytes
    key: bytes | None = None


@dataclass(slots=True)
class BatchResult:
    dead_letters: list[DeadLetter] = field(default_factory=list)
    accepted: int = 0
    duplicates: int = 0
    skipped: int = 0


def process_batch(
    store: StateStore,
    rules: Rules,
    *,
    partition: int,
    messages: Iterable[Message],
    now: datetime,
    markers: Markers,
) -> BatchResult:
    """Apply one partition's messages, in offset order, to the state in `store`.

    `markers` is the partition's dedupe index (`Markers.load(store, partition)`), kept by the
    caller between batches; it must be loaded again whenever the store changes behind it."""
    cache = WriteBack(store, late_prefix=totals_key(partition), last_key=totals_key(partition))
    totals = Totals(cache, partition)
    persisted_offset = totals.feed["offset"]
    now_ts = now.timestamp()
    day = int(now_ts // DAY_SECONDS)
    result = BatchResult()
    for message in messages:
        if message.offset <= totals.feed["offset"]:
            result.skipped += 1
            continue
        outcome = decode(
            message.value, rules.feed, registry=rules.registry, now=now, retention=rules.retention
        )
        if isinstance(outcome, Rejection):
            effects = [inc(EVENTS_REJECTED, rules.feed, outcome.reason, outcome.facility)]
            result.dead_letters.append(DeadLetter(message.offset, outcome, message.value, message.key))
        elif not markers.first_sighting(
            event_id=outcome.event_id, offset=message.offset, day=day, horizon_days=rules.horizon_days
        ):
            effects = [inc(EVENTS_DUPLICATE, rules.feed)]
            result.duplicates += 1
        else:
            effects = _accepted_effects(outcome, rules.feed, now_ts)
            effects += _apply_to_entity(cache, rules, partition, outcome, message.offset, persisted_offset)
            result.accepted += 1
        totals.apply(effects, message.offset)
    markers.write_new(cache)
    cache.flush()
    return result


def _accepted_effects(event: Envelope, feed: Feed, now_ts: float) -> list[Effect]:
    at = event.occurred_at.timestamp()
    return [
        inc(EVENTS, feed, event.type),  # type: ignore[attr-defined]
        inc(FACILITY_EVENTS, event.facility_id, feed),
        high(FEED_LAST_SEEN, event.facility_id, feed, value=at),
        observe(EVENT_DELAY, feed, value=max(0.0, now_ts - at)),
    ]


def _apply_to_entity(
    cache: WriteBack, rules: Rules, partition: int, event: Envelope, offset: int, persisted_offset: int
) -> list[Effect]:
    """Apply an event to its entity value at most once per offset; return its effects."""
    target = _entity_of(event, partition, rules, offset)
    if target is None:
        return _stateless_effects(event, rules)
    key, factory, apply = target
    value: EntityValue = cache.get(key) or new_entity(factory())
    if offset <= value["offset"]:
        # Applied before a crash that lost the totals write: replay the remembered effects.
        return [tuple(effect) for effect in value["effects"].get(str(offset), [])]  # type: ignore[misc]
    effects = apply(value["state"])
    value["offset"] = offset
    value["effects"] = {o: fx for o, fx in value["effects"].items() if int(o) > persisted_offset}
    if effects:
        value["effects"][str(offset)] = effects
    cache.put(key, value)
    return effects


EntityTarget = tuple[str, Callable[[], dict[str, Any]], Callable[[dict[str, Any]], list[Effect]]]


def _entity_of(event: Envelope, partition: int, rules: Rules, offset: int) -> EntityTarget | None:
    at = event.occurred_at.timestamp()
    if isinstance(event, BedEvent):
        return (
            beds_key(partition, event.facility_id),
            beds.new_facility_beds,
            lambda s: _apply_beds(s, event, offset),
        )
    if isinstance(event, EdArrival | EdTriage | EdDeparture):
        return (
            visit_key(partition, event.facility_id, event.visit_id),
            visits.new_ed_visit,
            lambda s: _apply_ed(s, event, at, offset, rules.zone),
        )
    if isinstance(event, RequestEvent):
        return (
            request_key(partition, event.request_id),
            requests.new_request,
            lambda s: _apply_request(s, event, at, offset),
        )
    if isinstance(event, CaseEvent):
        return (
            case_key(partition, event.case_id),
            cases.new_case,
            lambda s: _apply_case(s, event, offset, rules.centers),
        )
    if isinstance(event, ReferralEvent):
        return (
            referral_key(partition, event.referral_id),
            referrals.new_referral,
            lambda s: _apply_referral(s, event, offset, rules),
        )
    return None


def _apply_referral(state: dict[str, Any], event: ReferralEvent, offset: int, rules: Rules) -> list[Effect]:
    """The referral counted on its request's local date, stage times, endings and a late
    acceptance, each once, labelled by its direction (and its pair or its receiver)."""
    changes = referrals.apply_referral_event(
        state, event, seq=offset, registry=rules.registry, limits=rules.referrals
    )
    direction, sender, receiver = state["direction"], state["from_facility"], state["to_facility"]
    effects: list[Effect] = []
    if changes.counted:
        local_date = event.occurred_at.astimezone(rules.zone).date().isoformat()
        effects.append(inc(REFERRALS, direction, sender, receiver))
        effects.append(("inc", referrals_day_key(direction, sender, receiver, local_date), 1.0))
    for stage, seconds in changes.stage_seconds:
        effects.append(observe(REFERRAL_STAGE_SECONDS, direction, stage, value=seconds))
    for outcome in changes.endings:
        effects.append(inc(REFERRALS_ENDED, direction, outcome))
    if changes.late:
        effects.append(inc(REFERRALS_ACCEPTED_LATE, direction, receiver))
    return effects


def _apply_case(state: dict[str, Any], event: CaseEvent, offset: int, centers: Centers) -> list[Effect]:
    """Completed intervals and bypass outcomes, each once, labelled by the center whose door counts."""
    changes = cases.apply_case_event(state, event, seq=offset, centers=centers)
    category, center = state["cat"], state["door"]
    effects: list[Effect] = []
    for interval in changes.intervals:
        effects.append(
            observe(CASE_INTERVAL_SECONDS, category, interval.standard, center, value=interval.seconds)
        )
        if interval.within:
            effects.append(inc(CASE_INTERVALS_WITHIN, category, interval.standard, center))
    for outcome in changes.bypass:
        bypassed = "true" if outcome.bypassed else "false"
        effects.append(inc(CASE_BYPASS, category, outcome.standard, center, bypassed))
    return effects


def _apply_beds(state: dict[str, Any], event: Envelope, offset: int) -> list[Effect]:
    at = event.occurred_at.timestamp()
    if isinstance(event, BedCensus):
        beds.apply_census(
            state, event.ward_id, at=at, seq=offset, staffed=event.beds_staffed, occupied=event.beds_occupied
        )
    elif isinstance(event, BedCancel):
        beds.apply_cancel(state, event.cancelled_event_id)
    elif isinstance(event, BedTransfer):
        beds.apply_movement(state, event.ward_id, at=at, seq=offset, event_id=event.event_id, delta=-1)
        beds.apply_movement(state, event.to_ward_id, at=at, seq=offset, event_id=event.event_id, delta=+1)
    else:
        delta = +1 if event.type == "bed.admit" else -1  # type: ignore[attr-defined]
        beds.apply_movement(state, event.ward_id, at=at, seq=offset, event_id=event.event_id, delta=delta)  # type: ignore[attr-defined]
    return []


def _apply_ed(
    state: dict[str, Any], event: EdArrival | EdTriage | EdDeparture, at: float, offset: int, zone: ZoneInfo
) -> list[Effect]:
    detail: str | int = (
        event.arrival_mode
        if isinstance(event, EdArrival)
        else event.level
        if isinstance(event, EdTriage)
        else event.disposition
    )
    effects: list[Effect] = []
    for milestone in visits.apply_ed_event(state, event.type, at=at, seq=offset, detail=detail):
        if milestone == "arrival":
            effects += _visit_counted(
                event.facility_id, "emergency", event.occurred_at.astimezone(zone).date().isoformat()
            )
        else:
            effects.append(inc(ED_DEPARTURES, event.facility_id, str(detail)))
    return effects


def _apply_request(state: dict[str, Any], event: Envelope, at: float, offset: int) -> list[Effect]:
    submitted = event if isinstance(event, RequestSubmitted) else None
    observations = requests.apply_request_event(
        state,
        event.type,  # type: ignore[attr-defined]
        at=at,
        seq=offset,
        category=submitted.category if submitted else None,
        from_facility=submitted.facility_id if submitted else None,
        to_facility=submitted.to_facility_id if submitted else None,
    )
    return [
        observe(REQUEST_STAGE_SECONDS, state["category"], stage, value=seconds)
        for stage, seconds in observations
    ]


def _stateless_effects(event: Envelope, rules: Rules) -> list[Effect]:
    if isinstance(event, VisitOutpatient):
        return _visit_counted(
            event.facility_id, "outpatient", event.occurred_at.astimezone(rules.zone).date().isoformat()
        )
    return []  # heartbeats: the accepted-event effects are all they do


def _visit_counted(facility: str, kind: str, local_date: str) -> list[Effect]:
    return [inc(VISITS, facility, kind), ("inc", visits_day_key(facility, kind, local_date), 1.0)]
