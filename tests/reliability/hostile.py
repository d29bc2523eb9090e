"""Hypothesis strategies for hostile input: malformed and adversarial messages, each with the reason
EVENTS.md says it must be rejected with (or None: valid, however odd, and must be accepted).

    >>> case = hostile_cases(registry, now).example()
    >>> case.feed, case.reason        # ('visits', 'schema_violation')

The expected reason comes from how a message was made (a valid event plus one known defect, or a
byte string that a strict parser independent of the code under test refuses), never from
schemas.decode. Valid adversarial events are aged 5 h to 6 days so that no clock-dependent metric
(last hour, long stay, due soon) changes between the reference's "now" and a scrape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from hypothesis import assume
from hypothesis import strategies as st

from schemas.events import FEEDS, TYPE_FEED, Feed
from schemas.registry import Registry
from tests.support.contract import (
    CASE_ARRIVALS,
    DETAIL_MILESTONES,
    DIAGNOSIS_CENTER,
    EXTERNAL_SCOPES,
    MILESTONE_CENTERS,
    REFERRAL_REASONS,
    STRATEGY_BOTH,
    STRATEGY_CENTER,
)

MAX_BYTES: Final = 64 * 1024
NESTING_LIMIT: Final = 1024  # orjson's; RFC 8259 §9 lets a parser limit nesting
TOLERANCE: Final = timedelta(minutes=5)
RETENTION: Final = timedelta(days=7)
CATEGORIES: Final = ("chest_pain", "stroke", "trauma", "critical_maternal", "critical_neonatal")
ARRIVAL_MODES: Final = ("walk_in", "ambulance", "referral")
DISPOSITIONS: Final = ("admitted", "discharged", "transferred", "left_without_being_seen", "died")
TYPES: Final = ("heartbeat", *TYPE_FEED)
_WARD_TYPES: Final = ("bed.census", "bed.admit", "bed.discharge", "bed.transfer")
INJECTIONS: Final = (
    "'; DROP TABLE beds; --",
    '<script>alert("x")</script>',
    "%s%s%n{0}{__class__}",
    "\n2026-11-22T08:00:00 CRITICAL forged log line",
    "\x1b[31mred\x1b[0m\r\x00\u202eevil",
    "{{7*7}} ${jndi:ldap://127.0.0.1/a} $(rm -rf /) `id`",
    'medalliance_beds_occupied{facility="x"} 1e9',
    "病人姓名：张三 身份证 440000199001011234",
)
_NUMBER_SENTINEL: Final = "\u2063HOSTILE-NUMBER\u2063"
PSEUDONYM: Final = st.integers(0, 16**14 - 1).map(lambda n: f"pz{n:014x}")


@dataclass(frozen=True, slots=True)
class Case:
    feed: Feed
    key: bytes | None
    raw: bytes
    reason: str | None  # None: a valid event that must be accepted
    kind: str  # the generator that made it (reported in docs/reliability.md)


def wire_time(moment: datetime) -> str:
    return moment.isoformat()


def _feed_of(event: dict[str, Any]) -> Feed:
    return event["feed"] if event["type"] == "heartbeat" else TYPE_FEED[event["type"]]


def _key_of(event: dict[str, Any]) -> bytes:
    keys = ("request_id", "case_id", "referral_id", "facility_id")
    return str(next((event[k] for k in keys if event.get(k)), None)).encode()


def dumps(value: Any) -> bytes:
    """Compact JSON; the stdlib for integers beyond 64 bits, which orjson will not write."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


_INJECTION: Final = st.sampled_from(INJECTIONS)
_AGE: Final = st.integers(5 * 3600, 6 * 86_400)
_OFFSET_HOURS: Final = st.sampled_from([0, 8, -5, 14, -12])
_EVENT_ID: Final = st.integers(0, 2**64 - 1).map(lambda n: f"hx-{n:016x}")
_TEN: Final = st.integers(0, 9)


class Ctx:
    """What the strategies share: the registry, "now", and strategies built once. Its repr is short
    because hypothesis labels strategies by the repr of their arguments (a registry's is 600 kB)."""

    def __init__(self, registry: Registry, now: datetime) -> None:
        self.registry = registry
        self.now = now
        self.strategies: dict[tuple[str, ...], Any] = {}
        with_wards = sorted(f.id for f in registry.facilities.values() if len(f.wards) >= 2)
        self.every_facility = st.sampled_from(sorted(registry.facilities))
        self.ward_facility = st.sampled_from(with_wards)

    def __repr__(self) -> str:
        return f"Ctx(now={self.now.isoformat()})"


@st.composite
def valid_events(draw: st.DrawFn, ctx: Ctx, *, kinds: tuple[str, ...] = TYPES) -> Any:
    """A valid event of any type, 5 h to 6 days old, with adversarial but legal free text."""
    kind = draw(st.sampled_from(kinds)) if len(kinds) > 1 else kinds[0]
    facility = ctx.registry.facilities[draw(ctx.ward_facility if kind in _WARD_TYPES else ctx.every_facility)]
    at = (ctx.now - timedelta(seconds=draw(_AGE))).astimezone(_zone(draw(_OFFSET_HOURS) * 3600))
    event: dict[str, Any] = {
        "event_id": draw(_EVENT_ID),
        "type": kind,
        "schema_version": 1,
        "facility_id": facility.id,
        "occurred_at": wire_time(at),
    }
    if draw(_TEN) < 5:
        event["source"] = draw(_INJECTION)[:64]
    if draw(_TEN) == 0:  # unknown extra fields are legal (forward compatibility)
        event["x_extension"] = {"nested": _nest(draw(_TEN) * 20 + 1), "big": 10**30, "text": draw(_INJECTION)}
    event.update(_type_fields(draw, kind, sorted(facility.wards), ctx.registry))
    return event


def _valid(ctx: Ctx, kinds: tuple[str, ...] = TYPES) -> Any:
    """valid_events, built once per kinds (hypothesis computes each new strategy's label)."""
    if kinds not in ctx.strategies:
        ctx.strategies[kinds] = valid_events(ctx, kinds=kinds)
    return ctx.strategies[kinds]


def _type_fields(draw: st.DrawFn, kind: str, wards: list[str], registry: Registry) -> dict[str, Any]:
    if kind == "heartbeat":
        return {"feed": draw(st.sampled_from(FEEDS))}
    if kind == "bed.census":
        return {"ward_id": draw(st.sampled_from(wards)), "beds_staffed": draw(st.integers(0, 500)),
                "beds_occupied": draw(st.integers(0, 500))}  # fmt: skip
    if kind in ("bed.admit", "bed.discharge"):
        return {"ward_id": draw(st.sampled_from(wards)), "encounter_id": draw(PSEUDONYM)}
    if kind == "bed.transfer":
        ward, to_ward = draw(st.permutations(wards))[:2]
        return {"ward_id": ward, "to_ward_id": to_ward, "encounter_id": draw(PSEUDONYM)}
    if kind == "bed.cancel":
        return {"cancelled_event_id": "c" + draw(_EVENT_ID)}
    if kind == "visit.outpatient":
        return {"department": draw(_INJECTION)[:64]} if draw(st.booleans()) else {}
    if kind == "ed.arrival":
        return {"visit_id": draw(PSEUDONYM), "arrival_mode": draw(st.sampled_from(ARRIVAL_MODES))}
    if kind == "ed.triage":
        return {"visit_id": draw(PSEUDONYM), "level": draw(st.integers(1, 4))}
    if kind == "ed.departure":
        return {"visit_id": draw(PSEUDONYM), "disposition": draw(st.sampled_from(DISPOSITIONS))}
    if kind.startswith("case."):
        return _case_fields(draw, kind, registry)
    if kind.startswith("referral."):
        return _referral_fields(draw, kind, wards, registry)
    fields: dict[str, Any] = {"request_id": draw(PSEUDONYM)}
    if kind == "request.submitted":
        fields["category"] = draw(st.sampled_from(CATEGORIES))
        fields["to_facility_id"] = draw(st.sampled_from(sorted(registry.facilities)))
    if kind in ("request.rejected", "request.cancelled"):
        fields["reason"] = draw(_INJECTION) * draw(st.integers(1, 5))
    return fields


def _case_fields(draw: st.DrawFn, kind: str, registry: Registry) -> dict[str, Any]:
    """A case event's fields; a milestone drawn from its center's, with its detail where it needs one."""
    fields: dict[str, Any] = {"case_id": draw(PSEUDONYM)}
    if kind == "case.closed":
        return fields
    category = draw(st.sampled_from(CATEGORIES))
    fields["category"] = category
    if kind == "case.opened":
        fields["arrival_mode"] = draw(st.sampled_from(CASE_ARRIVALS))
        fields["door_facility_id"] = draw(st.sampled_from(sorted(registry.facilities)))
        return fields
    milestone = draw(
        st.sampled_from(sorted(m for m, centers in MILESTONE_CENTERS.items() if category in centers))
    )
    fields["milestone"] = milestone
    if milestone in DETAIL_MILESTONES["diagnosis"]:
        fields["diagnosis"] = draw(
            st.sampled_from(sorted(d for d, c in DIAGNOSIS_CENTER.items() if c == category))
        )
    if milestone in DETAIL_MILESTONES["strategy"]:
        own = [s for s, c in STRATEGY_CENTER.items() if c == category]
        fields["strategy"] = draw(
            st.sampled_from(sorted(own + ([STRATEGY_BOTH] if category in ("chest_pain", "stroke") else [])))
        )
    return fields


def _referral_fields(draw: st.DrawFn, kind: str, wards: list[str], registry: Registry) -> dict[str, Any]:
    """A referral event's fields: a request to an alliance facility (maybe a ward of it) or, by code
    and scope, outside; an acceptance maybe into a ward of the publisher's."""
    fields: dict[str, Any] = {"referral_id": draw(PSEUDONYM)}
    if kind in ("referral.rejected", "referral.cancelled"):
        fields["reason"] = draw(_INJECTION) * draw(st.integers(1, 5))
    if kind == "referral.accepted" and wards and draw(st.booleans()):
        fields["target_ward_id"] = draw(st.sampled_from(wards))
    if kind != "referral.requested":
        return fields
    fields["reason"] = draw(st.sampled_from(REFERRAL_REASONS))
    fields["department"] = draw(_INJECTION)[:64]
    if draw(st.booleans()):
        fields["to_external_code"] = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True))
        fields["to_external_scope"] = draw(st.sampled_from(EXTERNAL_SCOPES))
        return fields
    receiver = registry.facilities[draw(st.sampled_from(sorted(registry.facilities)))]
    fields["to_facility_id"] = receiver.id
    if len(receiver.wards) > 0 and draw(st.booleans()):
        fields["target_ward_id"] = draw(st.sampled_from(sorted(receiver.wards)))
    return fields


def _zone(hours_seconds: int) -> Any:
    from datetime import timezone

    return timezone(timedelta(seconds=hours_seconds))


def _nest(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def _case(event: dict[str, Any], reason: str | None, kind: str, *, feed: Feed | None = None) -> Case:
    return Case(feed or _feed_of(event), _key_of(event), dumps(event), reason, kind)


def strictly_a_json_object(raw: bytes) -> bool:
    """An independent strict parse (stdlib json, UTF-8 only, no NaN/Infinity): is it an object?"""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        return isinstance(json.loads(raw.decode("utf-8"), parse_constant=refuse), dict)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


# --- malformed messages, by the check of EVENTS.md that must catch them -------------------------


@st.composite
def oversized(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx))
    event["padding"] = "x" * draw(st.integers(MAX_BYTES, MAX_BYTES + 4096))
    return _case(event, "too_large", "oversized")


@st.composite
def bad_utf8(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx))
    raw = dumps(event)
    cut = raw.index(b'"event_id":"') + len(b'"event_id":"')
    garbage = draw(
        st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"])
    )
    return Case(
        _feed_of(event), _key_of(event), raw[:cut] + garbage + raw[cut:], "invalid_json", "invalid_utf8"
    )


@st.composite
def truncated(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx))
    raw = dumps(event)
    return Case(_feed_of(event), _key_of(event), raw[: draw(st.integers(0, len(raw) - 1))], "invalid_json",
                "truncated_json")  # fmt: skip


@st.composite
def random_bytes(draw: st.DrawFn) -> Case:
    raw = draw(st.one_of(st.binary(max_size=300), st.text(max_size=200).map(str.encode)))
    assume(not strictly_a_json_object(raw))
    return Case(draw(st.sampled_from(FEEDS)), draw(st.none() | st.binary(max_size=20)), raw, "invalid_json",
                "random_bytes")  # fmt: skip


@st.composite
def not_an_object(draw: st.DrawFn) -> Case:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text()
    )
    value = draw(st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=10))
    return Case(draw(st.sampled_from(FEEDS)), None, dumps(value), "invalid_json", "json_not_object")


@st.composite
def non_finite(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx))
    target = draw(
        st.sampled_from(["schema_version", "extra", *(["beds_staffed"] if "beds_staffed" in event else [])])
    )
    event[target] = _NUMBER_SENTINEL
    literal = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400"]))
    raw = dumps(event).replace(orjson.dumps(_NUMBER_SENTINEL), literal)
    return Case(_feed_of(event), _key_of(event), raw, "invalid_json", "nan_infinity")


@st.composite
def too_deep(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx))
    depth = draw(st.integers(NESTING_LIMIT + 1, 8 * NESTING_LIMIT))
    raw = dumps(event)[:-1] + b',"deep":' + b"[" * depth + b"]" * depth + b"}"
    return Case(_feed_of(event), _key_of(event), raw, "invalid_json", "deep_nesting")


@st.composite
def bad_envelope(draw: st.DrawFn, ctx: Ctx) -> Case:
    """`type` or `schema_version` missing or of the wrong JSON type: schema_violation, first."""
    event = draw(_valid(ctx))
    field = draw(st.sampled_from(["type", "schema_version"]))
    own: Any = st.integers() if field == "type" else st.text(max_size=5) | st.just(1.0) | st.just(True)
    wrong: Any = st.none() | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3), own)
    wrong = wrong | own
    if draw(st.booleans()):
        del event[field]
    else:
        event[field] = draw(wrong)
    if field == "schema_version" and draw(st.booleans()):
        event["type"] = draw(st.text(max_size=10))  # a bad version is reported whatever the type
    return _case(event, "schema_violation", f"bad_{field}", feed=draw(st.sampled_from(FEEDS)))


@st.composite
def unsupported_version(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx))
    event["schema_version"] = draw(st.integers(-(2**63), 2**63 - 1).filter(lambda v: v != 1))
    if draw(st.booleans()):
        event["type"] = draw(st.text(max_size=10))
        event.pop("facility_id")
    return _case(
        event, "unsupported_schema_version", "unsupported_version", feed=draw(st.sampled_from(FEEDS))
    )


@st.composite
def unknown_type(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx, tuple(TYPE_FEED)))
    if draw(st.booleans()):
        event["type"] = draw(st.text(max_size=40).filter(lambda t: t not in TYPES))
        feed = draw(st.sampled_from(FEEDS))
    else:  # a real type on another feed's topic
        feed = draw(st.sampled_from([f for f in FEEDS if f != TYPE_FEED[event["type"]]]))
    return _case(event, "unknown_type", "unknown_type", feed=feed)


_OPTIONAL: Final = frozenset({"type", "schema_version", "source", "department", "x_extension"})
_INT_FIELDS: Final = frozenset({"beds_staffed", "beds_occupied", "level"})
_LIMITS: Final = {"event_id": 64, "facility_id": 64, "ward_id": 64, "to_ward_id": 64, "to_facility_id": 64,
                  "cancelled_event_id": 64, "encounter_id": 128, "visit_id": 128, "request_id": 128,
                  "reason": 500, "case_id": 128, "door_facility_id": 64}  # fmt: skip
_ENUMS: Final = {
    "arrival_mode": (*ARRIVAL_MODES, *CASE_ARRIVALS),  # never a mode of either the ED or a case
    "disposition": DISPOSITIONS,
    "category": CATEGORIES,
    "feed": FEEDS,
    "milestone": tuple(MILESTONE_CENTERS),
}
_BAD_TIMES: Final = (
    "2026-11-22T08:15:00",  # naive: no offset
    "2026-11-22",
    "yesterday",
    "2026-13-01T00:00:00Z",
    "",
    "1763798400",
    "2026-11-22T08:15:00+8",
    "2026-02-30T08:00:00Z",
    "2026-11-22T25:00:00+08:00",
)


@st.composite
def field_violation(draw: st.DrawFn, ctx: Ctx) -> Case:
    """One field missing, of the wrong type, out of range or too long: schema_violation, even when
    the facility is unknown or the time far off too (fields are checked first)."""
    event = draw(_valid(ctx))
    fields = sorted(set(event) - _OPTIONAL)
    field = draw(st.sampled_from(fields))
    how = draw(st.sampled_from(["drop", "wrong_type", "range_or_length", "enum_or_time"]))
    if how == "drop":
        del event[field]
    elif how == "wrong_type":
        # Never an integer for an integer field: that would be a valid value labelled a violation (it
        # happened at 03:30 under faketime: beds_staffed drawn as 1).
        ints = st.just(3.0) | st.booleans() | st.none() | st.lists(st.integers(), max_size=2)
        strings = (
            st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none() | st.just({"a": ["b"]})
        )
        event[field] = draw(st.text(max_size=4) | st.just(2.5) | ints if field in _INT_FIELDS else strings)
    elif field in _INT_FIELDS:
        event[field] = draw(st.sampled_from([-1, 100_001, 10**25, -(10**25), 2**63]) if field != "level"
                            else st.sampled_from([0, 5, -1, 2**63 - 1]))  # fmt: skip
    elif how == "range_or_length" and field in _LIMITS:
        event[field] = "a" * draw(st.integers(_LIMITS[field] + 1, _LIMITS[field] + 300))
    elif field in _ENUMS:
        event[field] = draw(st.text(max_size=12).filter(lambda v: v not in _ENUMS[field]))
    elif field == "occurred_at":
        event[field] = draw(st.sampled_from(_BAD_TIMES))
    elif field == "event_id":
        event[field] = draw(st.sampled_from(["", " ", "\t\n "]))
    else:
        event.pop(field)
    if field != "facility_id" and draw(st.booleans()):
        event["facility_id"] = "not-registered-" + draw(st.text(max_size=8))
    feed = _feed_of(event) if event.get("feed") in FEEDS or event["type"] != "heartbeat" else "beds"
    return _case(event, "schema_violation", f"field_{how}", feed=feed)


@st.composite
def heartbeat_wrong_feed(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx, ("heartbeat",)))
    feed = draw(st.sampled_from([f for f in FEEDS if f != event["feed"]]))
    return _case(event, "schema_violation", "heartbeat_wrong_feed", feed=feed)


@st.composite
def same_ward_transfer(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx, ("bed.transfer",)))
    event["to_ward_id"] = event["ward_id"]
    return _case(event, "schema_violation", "same_ward_transfer")


@st.composite
def unknown_facility(draw: st.DrawFn, ctx: Ctx) -> Case:
    kinds = tuple(t for t in TYPES if t != "request.submitted")
    event = draw(_valid(ctx, draw(st.sampled_from([kinds, ("request.submitted",)]))))
    stranger = draw(st.text(min_size=1, max_size=64).filter(lambda v: v not in ctx.registry.facilities))
    event["to_facility_id" if "to_facility_id" in event and draw(st.booleans()) else "facility_id"] = stranger
    if "ward_id" in event and draw(st.booleans()):
        event["ward_id"] = "no-such-ward"  # the facility is checked before the ward
    return _case(event, "unknown_facility", "unknown_facility")


@st.composite
def unknown_ward(draw: st.DrawFn, ctx: Ctx) -> Case:
    event = draw(_valid(ctx, ("bed.census", "bed.admit", "bed.discharge", "bed.transfer")))
    wards = ctx.registry.facilities[event["facility_id"]].wards
    field = "to_ward_id" if "to_ward_id" in event and draw(st.booleans()) else "ward_id"
    event[field] = draw(st.text(min_size=1, max_size=64).filter(lambda w: w not in wards and w != event.get(
        "to_ward_id" if field == "ward_id" else "ward_id")))  # fmt: skip
    return _case(event, "unknown_ward", "unknown_ward")


@st.composite
def off_the_clock(draw: st.DrawFn, ctx: Ctx, margin: timedelta) -> Case:
    """Too far in the future (> 5 min ahead) or older than the retention, `margin` beyond the line."""
    event = draw(_valid(ctx))
    future = draw(st.booleans())
    if draw(st.integers(0, 9)) == 0:
        event["occurred_at"] = "9999-12-31T23:59:59-12:00" if future else "0001-01-01T00:00:00+14:00"
    else:
        beyond = timedelta(seconds=draw(st.integers(0, 50 * 365 * 86_400))) + margin + timedelta(seconds=1)
        moment = ctx.now + TOLERANCE + beyond if future else ctx.now - RETENTION - beyond
        event["occurred_at"] = wire_time(moment.astimezone(_zone(draw(st.sampled_from([0, 8, -11])) * 3600)))
    return _case(event, "future_timestamp" if future else "too_old", "future" if future else "too_old")


@st.composite
def valid_adversarial(draw: st.DrawFn, ctx: Ctx) -> Case:
    return _case(draw(_valid(ctx)), None, "valid_adversarial")


def hostile_cases(registry: Registry, now: datetime, *, margin: timedelta = timedelta(0)) -> Any:
    """Every kind of hostile message, and valid adversarial events among them."""
    ctx = Ctx(registry, now)
    # Cheapest first: hypothesis leans on the first branches when a draw runs long.
    return st.one_of(
        valid_adversarial(ctx), random_bytes(), not_an_object(), unknown_type(ctx),
        bad_envelope(ctx), unsupported_version(ctx), field_violation(ctx),
        heartbeat_wrong_feed(ctx), same_ward_transfer(ctx), unknown_facility(ctx),
        unknown_ward(ctx), off_the_clock(ctx, margin), bad_utf8(ctx),
        truncated(ctx), non_finite(ctx), too_deep(ctx), oversized(ctx),
    )  # fmt: skip
