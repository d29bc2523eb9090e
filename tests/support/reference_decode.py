"""The reference's own decoder: raw message bytes to an event or a reject reason, by the contract.

    >>> judge(b'{"type": "bed.census"}', "beds", now=now)
    Verdict(event=None, reason='schema_violation', facility='unknown')

Written from the precedence of docs/contract.md ("The checks run in this order and the first
failure gives the reason") and the field table of tests/support/contract.py, with the standard
library's JSON parser made strict; nothing of schemas/decode.py. Each check is the plain reading of
one line of the contract, so that a disagreement with the product points at one rule.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml

from tests.support.contract import (
    DETAIL_MILESTONES,
    DIAGNOSIS_CENTER,
    ENVELOPE,
    FIELDS,
    FUTURE_TOLERANCE_SECONDS,
    MAX_MESSAGE_BYTES,
    MAX_NESTING,
    MILESTONE_CENTERS,
    RETENTION_SECONDS,
    STRATEGY_BOTH,
    STRATEGY_CENTER,
    TYPE_FEED,
    Field,
)

REGISTRY_YAML: Final = Path(__file__).resolve().parents[2] / "schemas" / "yangxi.yaml"
# RFC 3339 with a required offset (the JSON Schema's pattern); the calendar is checked apart.
_TIMESTAMP: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_WARD_TYPES: Final = ("bed.census", "bed.admit", "bed.discharge", "bed.transfer")
# An outside destination's code: the JSON Schema's pattern (an ASCII letter or digit first).
_EXTERNAL_CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Verdict:
    """An accepted event (reason None) or a rejection with the facility label it counts under."""

    event: dict[str, Any] | None
    reason: str | None
    facility: str


@cache
def shipped_registry() -> dict[str, dict[str, Any]]:
    """facility id -> its entry in the shipped registry YAML, read here without the product's loader."""
    document = yaml.safe_load(REGISTRY_YAML.read_text(encoding="utf-8"))
    return {facility["id"]: facility for facility in document["facilities"]}


@cache
def shipped_wards() -> dict[str, dict[str, int]]:
    """facility id -> {ward id: nominal beds}."""
    return {
        facility_id: {ward["id"]: int(ward["beds"]) for ward in facility.get("wards") or []}
        for facility_id, facility in shipped_registry().items()
    }


def judge(raw: bytes, feed: str, *, now: datetime) -> Verdict:
    """The first failing check of the contract gives the reason; `now` is the service's clock."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return Verdict(None, "too_large", "unknown")
    document = strict_json_object(raw)
    if document is None:
        return Verdict(None, "invalid_json", "unknown")
    facility = document.get("facility_id")
    label = facility if isinstance(facility, str) and facility in shipped_registry() else "unknown"
    reason = _reason(document, feed, now)
    return Verdict(None if reason else document, reason, label)


def strict_json_object(raw: bytes) -> dict[str, Any] | None:
    """RFC 8259 JSON in UTF-8 (no NaN, no Infinity, no number beyond a double, nesting limited),
    when it is an object; None otherwise."""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    def finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(text)
        return number

    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=refuse, parse_float=finite)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or _depth(document) > MAX_NESTING:
        return None
    return document


def _depth(value: Any) -> int:
    """Nesting depth of arrays and objects, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _reason(document: dict[str, Any], feed: str, now: datetime) -> str | None:
    kind, version = document.get("type"), document.get("schema_version")
    if not isinstance(kind, str) or not _is_int(version):
        return "schema_violation"
    if version != 1:
        return "unsupported_schema_version"
    if kind != "heartbeat" and TYPE_FEED.get(kind) != feed:
        return "unknown_type"
    if not _fields_valid(document, kind, feed):
        return "schema_violation"
    if kind == "case.milestone" and not _of_its_center(document):
        return "milestone_not_in_category"
    wards = shipped_wards()
    facilities = {
        document["facility_id"],
        *([document.get("to_facility_id")] if kind in ("request.submitted", "referral.requested") else []),
        *([document["door_facility_id"]] if kind == "case.opened" else []),
    } - {None}  # an outside referral names no facility
    if not facilities <= set(wards):
        return "unknown_facility"
    if not all(ward in wards[facility] for facility, ward in _named_wards(document, kind)):
        return "unknown_ward"
    age = now.timestamp() - parse_time(document["occurred_at"]).timestamp()
    if -age > FUTURE_TOLERANCE_SECONDS:
        return "future_timestamp"
    if age > RETENTION_SECONDS:
        return "too_old"
    return None


def _named_wards(document: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    """(facility, ward) for each ward the event names: a bed event's wards are its facility's; a
    referral's target ward is the receiver's (the destination on a request, the publisher on an
    acceptance)."""
    if kind in _WARD_TYPES:
        named = [document["ward_id"], *([document["to_ward_id"]] if kind == "bed.transfer" else [])]
        return [(document["facility_id"], ward) for ward in named]
    target = document.get("target_ward_id")
    if target is None:
        return []
    if kind == "referral.requested":
        return [(document["to_facility_id"], target)]
    return [(document["facility_id"], target)] if kind == "referral.accepted" else []


def _one_destination(document: dict[str, Any]) -> bool:
    """A referral goes to an alliance facility or, by its code and scope, outside; a target ward is
    a ward of an alliance facility. Absent and null are alike, as for every optional field."""
    facility, code = document.get("to_facility_id"), document.get("to_external_code")
    scope, ward = document.get("to_external_scope"), document.get("target_ward_id")
    return (
        (facility is None) != (code is None)
        and (scope is None) == (code is None)
        and (ward is None or facility is not None)
    )


def _fields_valid(document: dict[str, Any], kind: str, feed: str) -> bool:
    if kind not in FIELDS:
        return False
    fields = {**ENVELOPE, **FIELDS[kind]}
    for name, field in fields.items():
        value = document.get(name)
        if value is None:  # absent, or null: only an optional field may be either
            if not field.optional:
                return False
        elif not _field_valid(field, value):
            return False
    if kind == "heartbeat" and document["feed"] != feed:
        return False  # a heartbeat belongs to the topic it is sent to
    if not re.search(r"\S", document["event_id"]):
        return False  # an id of blanks identifies nothing
    if kind == "referral.requested" and not _one_destination(document):
        return False
    if kind == "case.milestone" and any(
        (document.get(detail) is None) == (document["milestone"] in milestones)
        for detail, milestones in DETAIL_MILESTONES.items()
    ):
        return False  # a diagnosis or strategy belongs on its milestone, and only there
    return not (kind == "bed.transfer" and document["ward_id"] == document["to_ward_id"])


def _of_its_center(milestone: dict[str, Any]) -> bool:
    """The milestone, and its diagnosis or strategy if any, belong to the milestone's category."""
    center = milestone["category"]
    diagnosis, strategy = milestone.get("diagnosis"), milestone.get("strategy")
    return (
        center in MILESTONE_CENTERS[milestone["milestone"]]
        and (diagnosis is None or DIAGNOSIS_CENTER[diagnosis] == center)
        and (strategy is None or STRATEGY_CENTER.get(strategy, center) == center)
        and (strategy != STRATEGY_BOTH or center in ("chest_pain", "stroke"))
    )


def _field_valid(field: Field, value: Any) -> bool:
    if field.kind == "bool":
        return isinstance(value, bool)
    if field.kind == "int":
        return _is_int(value) and field.low <= value <= field.high
    if not isinstance(value, str):
        return False
    if field.kind == "time":
        return _TIMESTAMP.fullmatch(value) is not None and _calendar_time(value) is not None
    if field.kind == "feed":
        return value in ("beds", "visits", "requests")
    if field.kind == "enum":
        return value in field.values
    if field.kind == "code" and not _EXTERNAL_CODE.fullmatch(value):
        return False
    return field.low <= len(value) <= field.high


def _is_int(value: Any) -> bool:
    """A JSON integer: not a boolean, not an integral float such as 3.0."""
    return isinstance(value, int) and not isinstance(value, bool)


def _calendar_time(text: str) -> datetime | None:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if not zulu and (int(off_h) > 23 or int(off_m) > 59):
        return None
    offset = (
        timedelta(0) if zulu else (1 if sign == "+" else -1) * timedelta(hours=int(off_h), minutes=int(off_m))
    )
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((fraction or "0").ljust(6, "0")[:6]), tzinfo=timezone(offset),
        )  # fmt: skip
    except ValueError:
        return None


def parse_time(text: str) -> datetime:
    """An accepted event's timestamp (already checked by `judge`)."""
    moment = _calendar_time(text)
    assert moment is not None, text
    return moment
