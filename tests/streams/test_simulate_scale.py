"""The province-scale registry: many copies of the alliance, each with traffic of its own."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from schemas.decode import Rejection, decode
from schemas.registry import Registry, dump_registry, load_registry
from streams.simulate import encode, generate, scale_registry
from streams.simulate.wire import feed_of_event

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 20, 9, 0, tzinfo=CST)


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
