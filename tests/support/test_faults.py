"""The fault table and the duplicating shuffle the end-to-end tests feed the pipeline."""

from __future__ import annotations

import collections
from datetime import datetime, timedelta, timezone

import pytest

from schemas.registry import Registry
from streams.simulate import generate
from tests.support.faults import _Craft, malformed_messages, with_duplicates_and_shuffle
from tests.support.reference_decode import judge

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 20, 9, 0, tzinfo=CST)


def test_malformed_messages_are_seeded_and_sized(registry: Registry) -> None:
    first = malformed_messages(registry, now=START, seed=4, count=50)
    assert first == malformed_messages(registry, now=START, seed=4, count=50)
    assert len(first) == 50
    with pytest.raises(ValueError):
        malformed_messages(registry, now=START, seed=4, count=3)


def test_duplicates_and_shuffle(registry: Registry) -> None:
    events = [e for e in generate(registry, seed=3, start=START, duration=timedelta(minutes=30))]
    noisy = list(with_duplicates_and_shuffle(events, seed=9, duplicate_fraction=0.1, shuffle_window=20))
    by_id = collections.defaultdict(list)
    for event in noisy:
        by_id[event["event_id"]].append(event)
    originals = {e["event_id"]: e for e in events}
    assert set(by_id) == set(originals)
    copies = [(originals[i], c) for i, group in by_id.items() if len(group) > 1 for c in group]
    exact = sum(1 for original, copy in copies if copy == original) - sum(
        1 for g in by_id.values() if len(g) > 1
    )
    altered = [copy for original, copy in copies if copy != original]
    assert exact > 0 and altered
    assert all(
        copy.get("request_id", copy["facility_id"])
        == originals[copy["event_id"]].get("request_id", originals[copy["event_id"]]["facility_id"])
        for copy in altered
    )
    assert 0.05 < (len(noisy) - len(events)) / len(events) < 0.15
    # Reordered, but only locally.
    position = {e["event_id"]: i for i, e in enumerate(events)}
    moved = [abs(position[e["event_id"]] - i) for i, e in enumerate(noisy)]
    assert max(moved) > 0
    assert max(moved) < len(events) / 4


def test_the_referral_faults_are_one_defect_away_from_valid(registry: Registry) -> None:
    # Each malformed referral changes one thing of these: they must be valid as they stand.
    craft = _Craft(registry, START, "base")
    valid = (
        craft.referral(),
        craft.referral(target_ward_id=craft.receiver_only_ward),
        craft.outside(),
        craft.acceptance(),
        craft.acceptance(target_ward_id=craft.sender_only_ward),  # the publisher's own ward
    )
    assert [judge(raw, "requests", now=START).reason for raw in valid] == [None] * len(valid)
