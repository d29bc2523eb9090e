"""Raw bytes -> an accepted event or a rejection, with the precedence of EVENTS.md.

    >>> outcome = decode(raw, "beds", registry=registry, now=now)
    >>> if isinstance(outcome, Rejection): print(outcome.reason, outcome.message)

Checks run in the contract's order and the first failure gives the reason: too_large,
invalid_json, schema_violation (type/schema_version), unsupported_schema_version,
unknown_type, schema_violation (fields), milestone_not_in_category, unknown_facility,
unknown_ward, future_timestamp, too_old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import orjson
from pydantic import ValidationError

from schemas.clinical import milestone_problem
from schemas.events import EVENT_MODELS, SCHEMA_VERSION, TYPE_FEED, CaseMilestone, Envelope, Feed, Heartbeat
from schemas.registry import Registry

RejectReason = Literal[
    "too_large",
    "invalid_json",
    "schema_violation",
    "unsupported_schema_version",
    "unknown_type",
    "milestone_not_in_category",
    "unknown_facility",
    "unknown_ward",
    "future_timestamp",
    "too_old",
]
REJECT_REASONS: Final[tuple[RejectReason, ...]] = (
    "too_large",
    "invalid_json",
    "schema_violation",
    "unsupported_schema_version",
    "unknown_type",
    "milestone_not_in_category",
    "unknown_facility",
    "unknown_ward",
    "future_timestamp",
    "too_old",
)
MAX_MESSAGE_BYTES: Final = 64 * 1024
# Clocks of hospital systems drift; five minutes ahead is the contract's tolerance.
FUTURE_TOLERANCE: Final = timedelta(minutes=5)
DEFAULT_RETENTION: Final = timedelta(days=7)
UNKNOWN_FACILITY: Final = "unknown"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message was not accepted. `facility` is a registry id or "unknown", safe as a label."""

    reason: RejectReason
    message: str
    facility: str = UNKNOWN_FACILITY
    event_type: str | None = None


def decode(
    raw: bytes,
    feed: Feed,
    *,
    registry: Registry,
    now: datetime,
    retention: timedelta = DEFAULT_RETENTION,
) -> Envelope | Rejection:
    """Turn one Kafka message value into an event of `feed`, or the reason it is rejected."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return Rejection("too_large", f"message is {len(raw)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        # orjson is strict RFC 8259: it refuses NaN/Infinity and invalid UTF-8.
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection("invalid_json", f"not valid UTF-8 JSON: {exc}")
    if not isinstance(data, dict):
        return Rejection("invalid_json", f"a JSON object is required, got {_json_kind(data)}")
    facility = _known_facility(data.get("facility_id"), registry)
    event_type = data.get("type")
    version = data.get("schema_version")
    if not isinstance(event_type, str):
        return Rejection("schema_violation", _missing_or_type("type", event_type, "a string"), facility)
    if type(version) is not int:  # bool is an int in Python, not in the contract
        return Rejection(
            "schema_violation", _missing_or_type("schema_version", version, "an integer"), facility
        )
    if version != SCHEMA_VERSION:
        return Rejection(
            "unsupported_schema_version",
            f"schema_version {version} is not supported (this service reads {SCHEMA_VERSION})",
            facility,
        )
    model = EVENT_MODELS.get(event_type)
    if model is None:
        return Rejection("unknown_type", f"unknown event type {_clip(event_type)!r}", facility)
    if event_type != "heartbeat" and TYPE_FEED[event_type] != feed:
        return Rejection(
            "unknown_type",
            f"type {event_type!r} belongs to the {TYPE_FEED[event_type]} feed, not the {feed} feed",
            facility,
        )
    try:
        event = model.model_validate(data)
    except ValidationError as exc:
        return Rejection("schema_violation", _validation_message(exc), facility, event_type)
    if isinstance(event, CaseMilestone):
        # The contract's own lists, needing neither registry nor clock: checked with the fields.
        problem = milestone_problem(event.category, event.milestone, event.diagnosis, event.strategy)
        if problem is not None:
            return Rejection("milestone_not_in_category", problem, facility, event_type)
    return _check_context(event, feed, registry, now, retention) or event


def _check_context(
    event: Envelope, feed: Feed, registry: Registry, now: datetime, retention: timedelta
) -> Rejection | None:
    """Checks that need the registry or the clock (JSON Schema cannot express them)."""
    # The model's field dict, not getattr: a missing attribute goes through pydantic's slow
    # __getattr__, which made these lookups the larger part of decoding a heartbeat.
    fields = event.__dict__
    kind = fields.get("type")
    if isinstance(event, Heartbeat) and event.feed != feed:
        return Rejection(
            "schema_violation",
            f"heartbeat for feed {event.feed!r} arrived on the {feed} feed",
            _known_facility(event.facility_id, registry),
            kind,
        )
    facility = registry.facilities.get(event.facility_id)
    if facility is None:
        return Rejection(
            "unknown_facility", f"facility_id {_clip(event.facility_id)!r} is not in the registry"
        )
    for field in ("to_facility_id", "door_facility_id"):
        other = fields.get(field)
        if other is not None and other not in registry.facilities:
            return Rejection(
                "unknown_facility", f"{field} {_clip(other)!r} is not in the registry", facility.id, kind
            )
    for field in ("ward_id", "to_ward_id", "target_ward_id"):
        ward = fields.get(field)
        # A referral's target ward is one of its receiver's: the destination's on referral.requested,
        # the publisher's own (the receiver) on referral.accepted.
        owner = (
            registry.facilities[fields["to_facility_id"]]
            if field == "target_ward_id" and fields.get("to_facility_id")
            else facility
        )
        if ward is not None and ward not in owner.wards:
            return Rejection(
                "unknown_ward", f"{field} {_clip(ward)!r} is not a ward of {owner.id}", facility.id, kind
            )
    if event.occurred_at > now + FUTURE_TOLERANCE:
        ahead = (event.occurred_at - now).total_seconds()
        return Rejection(
            "future_timestamp", f"occurred_at is {ahead:.0f} s ahead of the service clock", facility.id, kind
        )
    if event.occurred_at < now - retention:
        return Rejection(
            "too_old", f"occurred_at is older than the {retention.days}-day retention", facility.id, kind
        )
    return None


def _known_facility(value: Any, registry: Registry) -> str:
    return value if isinstance(value, str) and value in registry.facilities else UNKNOWN_FACILITY


def _validation_message(exc: ValidationError) -> str:
    # Only field paths and pydantic's message, never the offending value: it could be a pseudonym.
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "event"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _missing_or_type(field: str, value: Any, expected: str) -> str:
    if value is None:
        return f"field {field!r} is missing"
    return f"field {field!r} must be {expected}, got {_json_kind(value)}"


def _json_kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _clip(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
