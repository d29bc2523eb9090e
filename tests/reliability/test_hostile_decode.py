"""Hostile input, fast and pure: schemas.decode against generated malformed and adversarial messages.

Each message's expected reason comes from how it was made (tests/reliability/hostile.py), so the
check is independent of decode's own logic; the rejected-facility label follows EVENTS.md
(`unknown` when missing or not in the registry).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Final

import orjson
from hypothesis import HealthCheck, given, settings

from schemas.decode import Rejection, decode
from schemas.registry import load_registry
from tests.reliability.hostile import Case, hostile_cases

REGISTRY: Final = load_registry()
NOW: Final = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
EXAMPLES: Final = 2000
_PSEUDONYM: Final = re.compile(r"pz[0-9a-f]{14}")
_seen: Counter[str] = Counter()


def expected_facility(case: Case) -> str:
    """EVENTS.md: the rejected message's facility_id when it is a registered one, else `unknown`."""
    if case.reason in ("too_large", "invalid_json"):
        return "unknown"
    try:
        facility = orjson.loads(case.raw).get("facility_id")
    except (orjson.JSONDecodeError, AttributeError):
        return "unknown"
    return facility if isinstance(facility, str) and facility in REGISTRY.facilities else "unknown"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(case=hostile_cases(REGISTRY, NOW))
def test_every_hostile_message_gets_its_reason_and_every_valid_one_passes(case: Case) -> None:
    _seen[case.kind] += 1
    outcome = decode(case.raw, case.feed, registry=REGISTRY, now=NOW)
    if case.reason is None:
        assert not isinstance(outcome, Rejection), (case.kind, outcome, case.raw[:300])
        return
    assert isinstance(outcome, Rejection), (case.kind, case.raw[:300])
    assert outcome.reason == case.reason, (case.kind, outcome, case.raw[:300])
    assert not _PSEUDONYM.search(outcome.message), outcome.message
    assert len(outcome.message) < 1000


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(case=hostile_cases(REGISTRY, NOW))
def test_the_rejected_facility_label_is_registered_or_unknown(case: Case) -> None:
    outcome = decode(case.raw, case.feed, registry=REGISTRY, now=NOW)
    if isinstance(outcome, Rejection):
        assert outcome.facility == expected_facility(case), (case.kind, outcome)


def test_every_kind_of_hostile_message_was_tried() -> None:
    # Runs after the property test in file order; a kind never drawn would be an untested defect.
    kinds = {
        "oversized", "invalid_utf8", "truncated_json", "random_bytes", "json_not_object", "nan_infinity",
        "deep_nesting", "bad_type", "bad_schema_version", "unsupported_version", "unknown_type",
        "heartbeat_wrong_feed", "same_ward_transfer", "unknown_facility", "unknown_ward", "future",
        "too_old", "valid_adversarial",
    }  # fmt: skip
    assert kinds <= set(_seen), kinds - set(_seen)
    assert sum(_seen.values()) >= EXAMPLES
