"""JSON Schema (draft 2020-12) of the event contract, exported for integrators.

    >>> files = generated_files()      # {Path("schemas/jsonschema/bed.census.json"): "...", ...}

One schema per event type, one per feed (what that feed's topic may carry; a heartbeat's
`feed` must name it), and `event.schema.json` for any event. The schemas say what JSON
Schema can: types, enumerations, ranges, lengths, required fields, RFC 3339 timestamps with
an offset. What only the service can check (the registry, the clock, wards that must differ,
integral floats such as 3.0) is listed in docs/contract.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from schemas.clinical import (
    CATEGORIES,
    CENTER_DIAGNOSES,
    CENTER_MILESTONES,
    CENTER_STRATEGIES,
    DIAGNOSIS_MILESTONE,
    STRATEGY_MILESTONES,
)
from schemas.events import _RFC3339, EVENT_MODELS, FEEDS, TYPE_FEED, Envelope, Feed

OUTPUT_DIR: Final = Path("schemas/jsonschema")
DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
ID_BASE: Final = "https://medalliance.example/schemas/v1/"
_TIMESTAMP_FIELDS: Final = ("occurred_at", "sent_at")
# One line per type for integrators (from EVENTS.md; the contract document has the full rules).
_DESCRIPTIONS: Final = {
    "heartbeat": "The publishing system is alive: at least every 60 s per facility and feed, on that feed.",
    "bed.census": "Authoritative snapshot of a ward; beds_occupied may exceed beds_staffed (corridor beds).",
    "bed.admit": "One more bed occupied in the ward (HL7 ADT A01).",
    "bed.discharge": "One bed freed in the ward (HL7 ADT A03).",
    "bed.transfer": "A patient moves from ward_id to to_ward_id of the same facility (HL7 ADT A02).",
    "bed.cancel": "Undo an earlier admit, discharge or transfer by its event_id (HL7 ADT A11/A12/A13).",
    "visit.outpatient": "One outpatient visit registered (HL7 ADT A04).",
    "ed.arrival": "A patient arrives at the emergency department.",
    "ed.triage": "Triage level of an ED visit: 1 critical ... 4 non-urgent.",
    "ed.departure": "The patient leaves the emergency department, with the disposition.",
    "request.submitted": "A high-risk urgent request is submitted by the sending facility.",
    "request.accepted": "The receiving facility accepts the request.",
    "request.rejected": "The receiving facility rejects the request.",
    "request.dispatched": "An ambulance is dispatched for the request.",
    "request.arrived": "The patient arrives at the receiving facility.",
    "request.completed": "Care is handed over; the request is complete.",
    "request.cancelled": "The sending facility cancels the request.",
    "case.opened": "A clinical case of one of the five centers begins (case_id = request_id for a transfer).",
    "case.milestone": "A milestone of a case, at the facility where it happened; lists per category.",
    "case.closed": "The case ends: its clocks stop.",
    "referral.requested": "A two-way referral (双向转诊) is requested by the sender, to an alliance facility "
    "(to_facility_id) or to one outside the alliance (to_external_code and to_external_scope).",
    "referral.accepted": "The receiving facility accepts the referral, naming the ward when it knows it.",
    "referral.rejected": "The receiving facility rejects the referral.",
    "referral.arrived": "The patient arrives at the receiving facility.",
    "referral.returned": "The receiver sends the patient back to the sender (回转): the referral ends.",
    "referral.closed": "The referral ends at the receiver (discharged, transferred on, died).",
    "referral.cancelled": "The sender cancels the referral.",
}
_TIMESTAMP_NOTE: Final = "RFC 3339 date-time with an offset (Z or ±hh:mm), e.g. 2026-11-22T08:15:00+08:00"


def _timestamp(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date-time", "pattern": _RFC3339.pattern, "description": description}


def _strip_titles(node: Any) -> Any:
    # pydantic's generated titles ("Event Id") add noise to diffs and nothing for integrators.
    if isinstance(node, dict):
        return {key: _strip_titles(value) for key, value in node.items() if key != "title"}
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    return node


def type_schema(event_type: str) -> dict[str, Any]:
    """The schema of one event type, self-contained."""
    model: type[Envelope] = EVENT_MODELS[event_type]
    schema = _strip_titles(model.model_json_schema(mode="validation"))
    properties = schema["properties"]
    for name in _TIMESTAMP_FIELDS:
        if name in properties:
            stamp = _timestamp(f"{name}: {_TIMESTAMP_NOTE}")
            properties[name] = stamp if name in schema["required"] else {"anyOf": [stamp, {"type": "null"}]}
    # The service also refuses a blank event_id (only spaces): at least one non-space character.
    properties["event_id"]["pattern"] = r"\S"
    for value in properties.values():
        value.pop("default", None)
    feed = TYPE_FEED.get(event_type)
    rules = _RULES_OF_TYPE.get(event_type, {})
    return {
        **rules,
        "$schema": DIALECT,
        "$id": f"{ID_BASE}{event_type}.json",
        "title": event_type,
        "description": _DESCRIPTIONS[event_type] + (f" Feed: {feed}." if feed else ""),
        "type": "object",
        "properties": properties,
        "required": schema["required"],
        # Unknown fields are accepted (and dropped) for forward compatibility.
        "additionalProperties": True,
    }


def _only_on(field: str, milestones: tuple[str, ...]) -> dict[str, Any]:
    """`field` is required on these milestones and absent (or null) on every other."""
    return {
        "if": {"properties": {"milestone": {"enum": list(milestones)}}},
        "then": {"required": [field], "properties": {field: {"type": "string"}}},
        "else": {"properties": {field: {"type": "null"}}},
    }


# The service's milestone_not_in_category, as far as JSON Schema goes: each category's own lists.
_CASE_MILESTONE_RULES: Final[dict[str, Any]] = {
    "allOf": [
        *(
            {
                "if": {"properties": {"category": {"const": category}}},
                "then": {
                    "properties": {
                        "milestone": {"enum": list(CENTER_MILESTONES[category])},
                        "diagnosis": {"enum": [*CENTER_DIAGNOSES[category], None]},
                        "strategy": {"enum": [*CENTER_STRATEGIES[category], None]},
                    }
                },
            }
            for category in CATEGORIES
        ),
        _only_on("diagnosis", (DIAGNOSIS_MILESTONE,)),
        _only_on("strategy", STRATEGY_MILESTONES),
    ]
}


_NULL: Final = {"type": "null"}
# The service's "exactly one destination": an alliance facility, or an outside code with its scope.
_REFERRAL_DESTINATION: Final[dict[str, Any]] = {
    "oneOf": [
        {
            "required": ["to_facility_id"],
            "properties": {
                "to_facility_id": {"type": "string"},
                "to_external_code": _NULL,
                "to_external_scope": _NULL,
            },
        },
        {
            "required": ["to_external_code", "to_external_scope"],
            "properties": {
                "to_facility_id": _NULL,
                "to_external_code": {"type": "string"},
                "to_external_scope": {"type": "string"},
                "target_ward_id": _NULL,
            },
        },
    ]
}
_RULES_OF_TYPE: Final[dict[str, dict[str, Any]]] = {
    "case.milestone": _CASE_MILESTONE_RULES,
    "referral.requested": _REFERRAL_DESTINATION,
}


def _union(title: str, schema_id: str, branches: list[dict[str, Any]], description: str) -> dict[str, Any]:
    return {
        "$schema": DIALECT,
        "$id": f"{ID_BASE}{schema_id}",
        "title": title,
        "description": description,
        "oneOf": branches,
    }


def _bare(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key not in ("$schema", "$id")}


def feed_schema(feed: Feed) -> dict[str, Any]:
    """What the topic of `feed` may carry: its types, and heartbeats naming this feed."""
    heartbeat = _bare(type_schema("heartbeat"))
    heartbeat["properties"]["feed"] = {"const": feed, "type": "string"}
    branches = [heartbeat] + [_bare(type_schema(t)) for t in sorted(TYPE_FEED) if TYPE_FEED[t] == feed]
    return _union(f"{feed} feed", f"feed.{feed}.json", branches, f"Any message of the {feed} feed topic.")


def event_schema() -> dict[str, Any]:
    branches = [_bare(type_schema(t)) for t in sorted(EVENT_MODELS)]
    return _union("medalliance event", "event.schema.json", branches, "Any event of the contract, version 1.")


def _render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generated_files() -> dict[Path, str]:
    """Every schema file, keyed by its path relative to the project root."""
    files = {OUTPUT_DIR / f"{t}.json": _render(type_schema(t)) for t in sorted(EVENT_MODELS)}
    files.update({OUTPUT_DIR / f"feed.{feed}.json": _render(feed_schema(feed)) for feed in FEEDS})
    files[OUTPUT_DIR / "event.schema.json"] = _render(event_schema())
    return files
