"""Faulty traffic helpers and the province-scale registry."""

from __future__ import annotations

import collections
import re
from datetime import datetime, timedelta, timezone

import pytest

from schemas.decode import Rejection, decode
from schemas.registry import Registry, dump_registry, load_registry
from streams.simulate import encode, generate, scale_registry
from streams.simulate.faults import malformed_messages, with_duplicates_and_shuffle
from streams.simulate.wire import feed_of_event

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


def test_scale_registry_province(registry: Registry) -> None:
    province = scale_registry(registry, 100)
    assert len(province.facilities) == 100 * len(registry.facilities) == 13_600
    label = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
    assert all(label.match(fid) for fid in province.facilities)
    assert (
        province.facilities["yx-ch-people-a042"].wards.keys()
        == registry.facilities["yx-ch-people"].wards.keys()
    )
    assert scale_registry(registry, 1) is registry


def test_scaled_registry_round_trips_and_traffic_stays_in_its_copy(registry: Registry, tmp_path) -> None:
    scaled = scale_registry(registry, 3)
    path = tmp_path / "province.yaml"
    path.write_text(dump_registry(scaled), encoding="utf-8")
    assert load_registry(path) == scaled
    events = list(generate(scaled, seed=1, start=START, duration=timedelta(hours=2)))
    now = START + timedelta(hours=2)
    assert not [
        e
        for e in events
        if isinstance(decode(encode(e), feed_of_event(e), registry=scaled, now=now), Rejection)
    ]
    facilities = {e["facility_id"] for e in events}
    assert {f[-4:] for f in facilities} == {"a001", "a002", "a003"}
    for event in events:
        if event["type"] == "request.submitted":
            assert event["to_facility_id"][-4:] == event["facility_id"][-4:]
