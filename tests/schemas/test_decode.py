"""decode: every valid example accepted; every reject reason, and the precedence of EVENTS.md."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from schemas.decode import MAX_MESSAGE_BYTES, REJECT_REASONS, Rejection, decode
from schemas.events import EVENT_MODELS, message_key
from schemas.registry import Registry
from tests.schemas.examples import EXTERNAL_REFERRAL, FEED_OF, NOW, VALID
from tests.support.faults import malformed_messages


def _decode(data: Any, feed: str, registry: Registry, **kw: Any) -> Any:
    raw = data if isinstance(data, bytes) else orjson.dumps(data)
    return decode(raw, feed, registry=registry, now=NOW, **kw)  # type: ignore[arg-type]


def _reason(data: Any, feed: str, registry: Registry) -> str:
    outcome = _decode(data, feed, registry)
    return outcome.reason if isinstance(outcome, Rejection) else "accepted"


def test_examples_cover_every_type() -> None:
    assert set(VALID) == set(EVENT_MODELS)


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_valid_example_accepted(event_type: str, registry: Registry) -> None:
    outcome = _decode(VALID[event_type], FEED_OF[event_type], registry)
    assert not isinstance(outcome, Rejection), outcome
    assert outcome.event_id == VALID[event_type]["event_id"]


def test_unknown_fields_are_dropped(registry: Registry) -> None:
    outcome = _decode({**VALID["ed.arrival"], "patient_name": "x"}, "visits", registry)
    assert not isinstance(outcome, Rejection)
    assert "patient_name" not in outcome.model_dump()


def _with(event_type: str, **changes: Any) -> dict[str, Any]:
    event = {**VALID[event_type], **changes}
    return {k: v for k, v in event.items() if v is not None}


SV = "schema_violation"
UNSUPPORTED = "unsupported_schema_version"
CASES = [
    # (description, message, feed, expected reason)
    ("over 64 KiB", _with("bed.census", pad="x" * MAX_MESSAGE_BYTES), "beds", "too_large"),
    ("over 64 KiB and not JSON: size first", b"[" * (MAX_MESSAGE_BYTES + 1), "beds", "too_large"),
    ("truncated JSON", b'{"type": "bed.census"', "beds", "invalid_json"),
    ("not UTF-8", b'{"type": "\xff"}', "beds", "invalid_json"),
    ("NaN", b'{"type": "bed.census", "beds_occupied": NaN}', "beds", "invalid_json"),
    ("Infinity", b'{"type": "bed.census", "beds_occupied": Infinity}', "beds", "invalid_json"),
    ("an array", b"[]", "beds", "invalid_json"),
    ("a string", b'"bed.census"', "beds", "invalid_json"),
    ("type missing", _with("bed.census", type=None), "beds", SV),
    ("type a number", _with("bed.census", type=3), "beds", SV),
    ("schema_version missing", _with("bed.census", schema_version=None), "beds", SV),
    ("schema_version a string", _with("bed.census", schema_version="1"), "beds", SV),
    ("schema_version 1.0", _with("bed.census", schema_version=1.0), "beds", SV),
    ("schema_version 2", _with("bed.census", schema_version=2), "beds", UNSUPPORTED),
    ("version before type", _with("bed.census", schema_version=2, type="x"), "beds", UNSUPPORTED),
    ("unknown type", _with("bed.census", type="bed.explode"), "beds", "unknown_type"),
    ("visits type on beds topic", VALID["ed.arrival"], "beds", "unknown_type"),
    ("beds type on requests topic", VALID["bed.admit"], "requests", "unknown_type"),
    ("wrong feed beats bad fields", _with("ed.arrival", arrival_mode="x"), "beds", "unknown_type"),
    ("field missing", _with("bed.census", ward_id=None), "beds", SV),
    ("negative beds", _with("bed.census", beds_occupied=-1), "beds", SV),
    ("integral float", _with("bed.census", beds_staffed=16.0), "beds", SV),
    ("boolean as int", _with("ed.triage", level=True), "visits", SV),
    ("triage level 5", _with("ed.triage", level=5), "visits", SV),
    ("bad enum", _with("ed.departure", disposition="escaped"), "visits", SV),
    ("bad category", _with("request.submitted", category="flu"), "requests", SV),
    ("timestamp without offset", _with("bed.admit", occurred_at="2026-11-22T08:15:00"), "beds", SV),
    ("unix timestamp", _with("bed.admit", occurred_at=1763770500), "beds", SV),
    ("event_id too long", _with("bed.admit", event_id="e" * 65), "beds", SV),
    ("transfer to same ward", _with("bed.transfer", to_ward_id="icu"), "beds", SV),
    ("unknown milestone", _with("case.milestone", milestone="coffee"), "requests", SV),
    ("diagnosis without its milestone", _with("case.milestone", milestone="door"), "requests", SV),
    ("strategy missing", _with("case.milestone", milestone="reperfusion_strategy", diagnosis=None),
     "requests", SV),
    ("flag not a boolean", _with("case.milestone", bypassed_ed="yes"), "requests", SV),
    ("unknown arrival mode", _with("case.opened", arrival_mode="ambulance"), "requests", SV),
    ("case type on visits topic", VALID["case.closed"], "visits", "unknown_type"),
    ("a chest-pain milestone for a stroke", _with("case.milestone", category="stroke",
     milestone="wire_crossed", diagnosis=None), "requests", "milestone_not_in_category"),
    ("a stroke diagnosis for chest pain", _with("case.milestone", diagnosis="ischemic_stroke"), "requests",
     "milestone_not_in_category"),
    ("a chest-pain strategy for a stroke", _with("case.milestone", category="stroke", diagnosis=None,
     milestone="reperfusion_strategy", strategy="primary_pci"), "requests", "milestone_not_in_category"),
    ("no diagnosis milestone in trauma", _with("case.milestone", category="trauma"), "requests",
     "milestone_not_in_category"),
    ("bad field beats bad milestone", _with("case.milestone", category="stroke", milestone="wire_crossed",
     diagnosis=None, case_id=""), "requests", SV),
    ("bad milestone beats unknown facility", _with("case.milestone", category="trauma", facility_id="no"),
     "requests", "milestone_not_in_category"),
    ("unknown door facility", _with("case.opened", door_facility_id="no"), "requests", "unknown_facility"),
    ("field error beats unknown facility", _with("bed.census", facility_id="no", beds_occupied=-1), "beds",
     SV),
    ("unknown facility", _with("bed.admit", facility_id="nowhere"), "beds", "unknown_facility"),
    ("unknown facility beats bad ward", _with("bed.admit", facility_id="nowhere", ward_id="nope"), "beds",
     "unknown_facility"),
    ("unknown destination", _with("request.submitted", to_facility_id="no"), "requests", "unknown_facility"),
    ("unknown ward", _with("bed.admit", ward_id="nope"), "beds", "unknown_ward"),
    ("ward of another facility", _with("bed.admit", facility_id="yx-ch-tcm", ward_id="cardiology"), "beds",
     "unknown_ward"),
    ("unknown to_ward", _with("bed.transfer", to_ward_id="nope"), "beds", "unknown_ward"),
    ("bad ward beats future", _with("bed.admit", ward_id="no", occurred_at="2026-11-22T09:15:00Z"), "beds",
     "unknown_ward"),
    ("referral with no destination", _with("referral.requested", to_facility_id=None), "requests", SV),
    ("referral with two destinations", _with("referral.requested", to_external_code="GZ-1",
     to_external_scope="in_county"), "requests", SV),
    ("outside code without its scope", {**EXTERNAL_REFERRAL, "to_external_scope": None}, "requests", SV),
    ("outside code with a ward", {**EXTERNAL_REFERRAL, "target_ward_id": "icu"}, "requests", SV),
    ("unknown referral reason", _with("referral.requested", reason="boredom"), "requests", SV),
    ("blank department", _with("referral.requested", department=""), "requests", SV),
    ("referral type on beds topic", VALID["referral.arrived"], "beds", "unknown_type"),
    ("unknown referral destination", _with("referral.requested", to_facility_id="no"), "requests",
     "unknown_facility"),
    # cardiology is a ward of the county hospital (the receiver), not of the sender: accepted above;
    # maternity is the sender's ward, not the receiver's.
    ("target ward not of the receiver", _with("referral.requested", target_ward_id="maternity"), "requests",
     "unknown_ward"),
    ("accepting into a ward it lacks", _with("referral.accepted", facility_id="yx-thc-shaba",
     target_ward_id="icu"), "requests", "unknown_ward"),
    ("6 min ahead", _with("bed.admit", occurred_at="2026-11-22T08:36:01+08:00"), "beds", "future_timestamp"),
    ("8 days old", _with("bed.admit", occurred_at="2026-11-14T08:15:00+08:00"), "beds", "too_old"),
]  # fmt: skip


@pytest.mark.parametrize(("message", "feed", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reject_reason(message: Any, feed: str, expected: str, registry: Registry) -> None:
    assert _reason(message, feed, registry) == expected


def test_every_reason_has_a_case() -> None:
    assert {c[3] for c in CASES} == set(REJECT_REASONS)


def test_clock_boundaries(registry: Registry) -> None:
    # 5 minutes ahead is tolerated, one second more is not; retention is a setting.
    assert (
        _reason(_with("bed.admit", occurred_at="2026-11-22T08:35:00+08:00"), "beds", registry) == "accepted"
    )
    assert _reason(_with("bed.admit", occurred_at="2026-11-22T08:35:01+08:00"), "beds", registry) == (
        "future_timestamp"
    )
    old = _with("bed.admit", occurred_at="2026-11-20T08:15:00+08:00")
    assert _reason(old, "beds", registry) == "accepted"
    outcome = _decode(old, "beds", registry, retention=timedelta(days=1))
    assert isinstance(outcome, Rejection) and outcome.reason == "too_old"


def test_rejection_never_echoes_pseudonyms(registry: Registry) -> None:
    outcome = _decode(_with("bed.admit", encounter_id=12345678, ward_id="nope"), "beds", registry)
    assert isinstance(outcome, Rejection)
    assert "12345678" not in outcome.message


def test_case_key_is_the_case_id(registry: Registry) -> None:
    outcome = _decode(VALID["case.milestone"], "requests", registry)
    assert not isinstance(outcome, Rejection)
    assert message_key(outcome) == "c-1"


def test_a_referral_out_of_the_alliance_is_accepted_by_its_code(registry: Registry) -> None:
    outcome = _decode(EXTERNAL_REFERRAL, "requests", registry)
    assert not isinstance(outcome, Rejection), outcome
    assert message_key(outcome) == "f-2"


def test_faults_module_cases_match_decode(registry: Registry) -> None:
    # The simulator's malformed messages (used by end-to-end tests) must say what decode says.
    now = NOW
    messages = malformed_messages(registry, now=now, seed=3, count=60)
    assert {reason for _, _, reason in messages} == set(REJECT_REASONS)
    for feed, raw, expected in messages:
        outcome = decode(raw, feed, registry=registry, now=now)
        assert isinstance(outcome, Rejection), raw[:120]
        assert outcome.reason == expected, (raw[:200], outcome.message)
