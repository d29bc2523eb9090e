"""One partition's batch of messages → state changes, effects and dead letters (pure).

    >>> store = DictStore({})                        # any StateStore
    >>> markers = Markers.load(store, partition=0)   # kept between batches
    >>> result = process_batch(store, rules, partition=0, messages=[Message(0, raw)], now=now,
    ...                        markers=markers)

The way of one message (ARCHITECTURE.md): skip it if the partition's totals already applied its
offset (a redelivery); decode it (a rejection is counted and dead-lettered); look its event_id up
(a duplicate is counted, nothing else); apply it to its entity value; add its effects to the
partition totals.

Totals are split into TOTALS_BUCKETS values by facility (`t|<p>|<bucket>`, and `t|<p>|` for the
feed-wide series): one value holding every counter of the partition would be rewritten whole on
each batch, its changelog record growing with the registry (74 KB at 1,360 facilities), while a
value per facility would cost a changelog record per facility touched, and a record costs far
more than its bytes. A few buckets bound both.

Why it is safe without transactions: every value remembers the last offset `o` it applied, and
values are written entity/markers first, bucket totals next, the feed-wide totals last, all into
the one changelog partition of the source partition. A crash loses a suffix of those writes; the
redelivered messages then skip the values that already have them (the feed-wide totals' offset
decides whether a message is seen again at all, each other totals value's offset whether it still
needs an effect), and an entity value keeps the effects (`fx`) of offsets the feed-wide totals may
not have seen, so every totals value gets each effect exactly once.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from schemas.decode import Rejection, decode
from schemas.events import (
    BedCancel,
    BedCensus,
    BedEvent,
    BedTransfer,
    EdArrival,
    EdDeparture,
    EdTriage,
    Envelope,
    Feed,
    RequestEvent,
    RequestSubmitted,
    VisitOutpatient,
)
from schemas.metrics import (
    BY_NAME,
    ED_DEPARTURES,
    EVENT_DELAY,
    EVENTS,
    EVENTS_DUPLICATE,
    EVENTS_REJECTED,
    FACILITY_EVENTS,
    FEED_LAST_SEEN,
    REQUEST_STAGE_SECONDS,
    VISITS,
)
from schemas.registry import Registry
from streams.domain import beds, dedupe, requests, visits
from streams.domain.dedupe import Markers
from streams.domain.effects import SEP, Effect, apply_effects, inc, observe

DAY_SECONDS: Final = 86_400
TOTALS_BUCKETS: Final = 8


class StateStore(Protocol):
    def get(self, key: str) -> Any | None: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...
    def items(self, prefix: str) -> Iterable[tuple[str, Any]]: ...


class DictStore:
    """A StateStore over a plain dict (tests, reference runs)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def items(self, prefix: str) -> Iterable[tuple[str, Any]]:
        return [(key, value) for key, value in self.data.items() if key.startswith(prefix)]


@dataclass(frozen=True, slots=True)
class Message:
    offset: int
    value: bytes
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    """What a batch needs beyond the messages: the feed, the registry and the clocks' bounds."""

    feed: Feed
    registry: Registry
    retention: timedelta
    zone: ZoneInfo

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


class _WriteBack:
    """Reads through to the store; writes once per key per batch: totals after everything else,
    the feed-wide totals last."""

    def __init__(self, store: StateStore, partition: int) -> None:
        self._store = store
        self._values: dict[str, Any] = {}
        self._dirty: dict[str, None] = {}
        self._feed_totals = totals_key(partition)  # also the prefix of every totals key

    def get(self, key: str) -> Any | None:
        if key not in self._values:
            self._values[key] = self._store.get(key)
        return self._values[key]

    def put(self, key: str, value: Any) -> None:
        self._values[key] = value
        self._dirty[key] = None

    def flush(self) -> None:
        totals = [key for key in self._dirty if key.startswith(self._feed_totals)]
        for key in self._dirty:
            if not key.startswith(self._feed_totals):
                self._store.set(key, self._values[key])
        for key in sorted(totals, key=lambda key: key == self._feed_totals):
            self._store.set(key, self._values[key])
        self._dirty.clear()


def totals_key(partition: int, bucket: str = "") -> str:
    """A partition's totals value: one per facility bucket, and the feed-wide one (bucket "")."""
    return f"t|{partition}|{bucket}"


def new_totals() -> dict[str, Any]:
    return {"o": -1, "c": {}}


def resume_offset(store: StateStore, partition: int) -> int:
    """The first source offset the partition's state has not applied: where reading resumes.

    The feed-wide totals are written last in every batch and a crash loses a suffix of a batch's
    writes, so everything before their offset is in the state, whatever else was lost."""
    totals = store.get(totals_key(partition))
    return 0 if totals is None else int(totals["o"]) + 1


@lru_cache(maxsize=65_536)
def _bucket_of_series(key: str) -> str:
    """Which totals value keeps a series: its facility's bucket, "" for feed-wide series."""
    name, *labels = key.split(SEP)
    if name == "day":
        facility = labels[0]
    elif "facility" in BY_NAME[name].labels:
        facility = labels[BY_NAME[name].labels.index("facility")]
    else:
        return ""
    return str(zlib.crc32(facility.encode()) % TOTALS_BUCKETS)


class _Totals:
    """The partition's totals values touched by a batch, each applied at most once per offset."""

    def __init__(self, cache: _WriteBack, partition: int) -> None:
        self._cache = cache
        self._partition = partition
        self.feed = self._value("")[1]

    def _value(self, bucket: str) -> tuple[str, dict[str, Any]]:
        key = totals_key(self._partition, bucket)
        value = self._cache.get(key)
        if value is None:
            value = new_totals()
            self._cache.put(key, value)
        return key, value

    def apply(self, effects: list[Effect], offset: int) -> None:
        by_bucket: dict[str, list[Effect]] = {}
        for effect in effects:
            by_bucket.setdefault(_bucket_of_series(effect[1]), []).append(effect)
        by_bucket.setdefault("", [])  # the feed-wide offset moves with every message
        for bucket, routed in by_bucket.items():
            key, value = self._value(bucket)
            if offset <= value["o"]:
                continue  # written before a crash that lost the feed-wide totals
            apply_effects(value["c"], routed)
            value["o"] = offset
            self._cache.put(key, value)


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
    cache = _WriteBack(store, partition)
    totals = _Totals(cache, partition)
    persisted_offset = totals.feed["o"]
    now_ts = now.timestamp()
    day = int(now_ts // DAY_SECONDS)
    result = BatchResult()
    for message in messages:
        if message.offset <= totals.feed["o"]:
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
        ("max", f"{FEED_LAST_SEEN.name}\x1f{event.facility_id}\x1f{feed}", at),
        observe(EVENT_DELAY, feed, value=max(0.0, now_ts - at)),
    ]


def _apply_to_entity(
    cache: _WriteBack, rules: Rules, partition: int, event: Envelope, offset: int, persisted_offset: int
) -> list[Effect]:
    """Apply an event to its entity value at most once per offset; return its effects."""
    target = _entity_of(event, partition, rules, offset)
    if target is None:
        return _stateless_effects(event, rules)
    key, factory, apply = target
    value = cache.get(key) or {"o": -1, "fx": {}, "s": factory()}
    if offset <= value["o"]:
        # Applied before a crash that lost the totals write: replay the remembered effects.
        return [tuple(effect) for effect in value["fx"].get(str(offset), [])]  # type: ignore[misc]
    effects = apply(value["s"])
    value["o"] = offset
    value["fx"] = {o: fx for o, fx in value["fx"].items() if int(o) > persisted_offset}
    if effects:
        value["fx"][str(offset)] = effects
    cache.put(key, value)
    return effects


EntityTarget = tuple[str, Callable[[], dict[str, Any]], Callable[[dict[str, Any]], list[Effect]]]


def _entity_of(event: Envelope, partition: int, rules: Rules, offset: int) -> EntityTarget | None:
    at = event.occurred_at.timestamp()
    if isinstance(event, BedEvent):
        return (
            f"b|{partition}|{event.facility_id}",
            beds.new_facility_beds,
            lambda s: _apply_beds(s, event, offset),
        )
    if isinstance(event, EdArrival | EdTriage | EdDeparture):
        return (
            f"e|{partition}|{event.facility_id}|{event.visit_id}",
            visits.new_ed_visit,
            lambda s: _apply_ed(s, event, at, offset, rules.zone),
        )
    if isinstance(event, RequestEvent):
        return (
            f"r|{partition}|{event.request_id}",
            requests.new_request,
            lambda s: _apply_request(s, event, at, offset),
        )
    return None


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
        observe(REQUEST_STAGE_SECONDS, state["cat"], stage, value=seconds) for stage, seconds in observations
    ]


def _stateless_effects(event: Envelope, rules: Rules) -> list[Effect]:
    if isinstance(event, VisitOutpatient):
        return _visit_counted(
            event.facility_id, "outpatient", event.occurred_at.astimezone(rules.zone).date().isoformat()
        )
    return []  # heartbeats: the accepted-event effects are all they do


def _visit_counted(facility: str, kind: str, local_date: str) -> list[Effect]:
    return [inc(VISITS, facility, kind), ("inc", visits_day_key(facility, kind, local_date), 1.0)]


def visits_day_key(facility: str, kind: str, local_date: str) -> str:
    """Totals key of a facility's visits on a local date (the source of `visits_today`)."""
    return f"day\x1f{facility}\x1f{kind}\x1f{local_date}"


def oldest_marker_day(rules: Rules, now: datetime) -> int:
    """The oldest day whose dedupe markers are still inside the horizon."""
    return int(now.timestamp() // DAY_SECONDS) - rules.horizon_days


def expired_keys(items: Iterable[tuple[str, Any]], rules: Rules, now: datetime) -> Iterator[str]:
    """Keys of a partition that left the retention horizon: ED visits and requests whose last event
    is older than retention, marker days beyond the horizon."""
    cutoff = now.timestamp() - rules.retention.total_seconds()
    oldest_day = oldest_marker_day(rules, now)
    for key, value in items:
        kind = key[0]
        entity_expired = kind in ("e", "r") and value["s"]["last"] < cutoff
        if entity_expired or (kind == "d" and (dedupe.marker_day_of(key) or 0) < oldest_day):
            yield key


def prune_totals(totals: dict[str, Any], rules: Rules, now: datetime) -> bool:
    """Drop per-day visit counts older than yesterday (only today's are exported). True if changed."""
    yesterday = (now.astimezone(rules.zone).date() - timedelta(days=1)).isoformat()
    stale = [k for k in totals["c"] if k.startswith("day\x1f") and k.rsplit("\x1f", 1)[1] < yesterday]
    for key in stale:
        del totals["c"][key]
    return bool(stale)
