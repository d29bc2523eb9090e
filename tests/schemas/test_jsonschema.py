"""The exported JSON Schema: accepts the valid examples, rejects what a schema can express."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from schemas.events import EVENT_MODELS
from schemas.jsonschema import OUTPUT_DIR, generated_files
from tests.schemas.examples import FEED_OF, VALID

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(text) for path, text in generated_files().items()}


def _valid(schema: dict[str, Any], instance: Any) -> bool:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return validator.is_valid(instance)


def test_one_file_per_type_feed_and_combined(schemas: dict[str, dict[str, Any]]) -> None:
    expected = {f"{t}.json" for t in EVENT_MODELS} | {
        "feed.beds.json",
        "feed.visits.json",
        "feed.requests.json",
    }
    assert set(schemas) == expected | {"event.schema.json"}
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_output_is_deterministic_and_committed() -> None:
    first, second = generated_files(), generated_files()
    assert first == second
    for path, text in first.items():
        assert path.parent == OUTPUT_DIR and text.endswith("}\n")
        assert (ROOT / path).read_text(encoding="utf-8") == text, (
            f"{path} is stale: run `medalliance generate`"
        )


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_valid_examples_accepted(event_type: str, schemas: dict[str, dict[str, Any]]) -> None:
    example = VALID[event_type]
    assert _valid(schemas[f"{event_type}.json"], example)
    assert _valid(schemas["event.schema.json"], example)
    assert _valid(schemas[f"feed.{FEED_OF[event_type]}.json"], example)


def _with(event_type: str, **changes: Any) -> dict[str, Any]:
    event = {**VALID[event_type], **changes}
    return {k: v for k, v in event.items() if v is not None}


STRUCTURAL = [
    ("missing field", _with("bed.census", ward_id=None)),
    ("missing type", _with("bed.census", type=None)),
    ("unknown type", _with("bed.census", type="bed.explode")),
    ("schema_version 2", _with("bed.census", schema_version=2)),
    ("schema_version string", _with("bed.census", schema_version="1")),
    ("negative beds", _with("bed.census", beds_occupied=-1)),
    ("beds a string", _with("bed.census", beds_staffed="16")),
    ("fractional beds", _with("bed.census", beds_staffed=16.5)),
    ("triage 0", _with("ed.triage", level=0)),
    ("bad enum", _with("ed.arrival", arrival_mode="helicopter")),
    ("bad category", _with("request.submitted", category="flu")),
    ("bad heartbeat feed", _with("heartbeat", feed="labs")),
    ("empty event_id", _with("bed.admit", event_id="")),
    ("blank event_id", _with("bed.admit", event_id="   ")),
    ("long event_id", _with("bed.admit", event_id="e" * 65)),
    ("timestamp without offset", _with("bed.admit", occurred_at="2026-11-22T08:15:00")),
    ("timestamp a number", _with("bed.admit", occurred_at=1763770500)),
    ("reason too long", _with("request.rejected", reason="r" * 501)),
    ("milestone of another center", _with("case.milestone", category="stroke", milestone="wire_crossed",
                                          diagnosis=None)),
    ("diagnosis of another center", _with("case.milestone", diagnosis="ischemic_stroke")),
    ("diagnosis missing", _with("case.milestone", diagnosis=None)),
    ("diagnosis on another milestone", _with("case.milestone", milestone="door")),
    ("strategy missing", _with("case.milestone", milestone="decision_to_deliver",
                               category="critical_maternal", diagnosis=None)),
    ("flag a string", _with("case.milestone", bypassed_ccu="true")),
]  # fmt: skip


def test_a_center_milestone_with_its_strategy_is_valid(schemas: dict[str, dict[str, Any]]) -> None:
    # The per-category rules must not refuse the good case they sit beside.
    event = _with("case.milestone", milestone="decision_to_deliver", category="critical_maternal",
                  diagnosis=None, strategy="emergency_caesarean")  # fmt: skip
    assert _valid(schemas["event.schema.json"], event)


@pytest.mark.parametrize("instance", [c[1] for c in STRUCTURAL], ids=[c[0] for c in STRUCTURAL])
def test_structural_violations_rejected(instance: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> None:
    assert not _valid(schemas["event.schema.json"], instance)


def test_feed_schema_rejects_other_feeds(schemas: dict[str, dict[str, Any]]) -> None:
    assert not _valid(schemas["feed.beds.json"], VALID["ed.arrival"])
    assert not _valid(schemas["feed.visits.json"], VALID["heartbeat"])  # a heartbeat naming the beds feed
    assert _valid(schemas["feed.visits.json"], {**VALID["heartbeat"], "feed": "visits"})


def test_extra_fields_allowed(schemas: dict[str, dict[str, Any]]) -> None:
    assert _valid(schemas["event.schema.json"], {**VALID["bed.admit"], "x_vendor": {"any": 1}})


def test_documented_differences_hold(schemas: dict[str, dict[str, Any]]) -> None:
    # What docs/contract.md says the schema cannot see: the validator alone rejects these.
    event = schemas["event.schema.json"]
    assert _valid(event, _with("bed.census", beds_staffed=16.0))  # integral float
    assert _valid(event, _with("bed.admit", facility_id="nowhere"))  # registry
    assert _valid(event, _with("bed.transfer", to_ward_id="icu"))  # same ward
    assert _valid(event, _with("bed.admit", occurred_at="2099-01-01T00:00:00+08:00"))  # clock
