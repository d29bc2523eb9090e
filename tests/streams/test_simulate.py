"""A simulated day: deterministic, valid, plausible occupancy, rhythm, heartbeats, requests."""

from __future__ import annotations

import collections
import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from schemas.decode import Rejection, decode
from schemas.registry import Registry
from streams.simulate import encode, generate
from tests.support.contract import TYPE_FEED

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 20, 0, 0, tzinfo=CST)
DAY = timedelta(days=1)
Event = dict[str, Any]


def _at(event: Event) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def _feed(event: Event) -> str:
    kind = event["type"]
    return str(event["feed"]) if kind == "heartbeat" else TYPE_FEED[kind]


@pytest.fixture(scope="module")
def day(registry: Registry) -> list[Event]:
    return list(generate(registry, seed=11, start=START, duration=DAY))


def test_same_seed_same_events(registry: Registry) -> None:
    first = list(generate(registry, seed=5, start=START, duration=timedelta(hours=2)))
    again = list(generate(registry, seed=5, start=START, duration=timedelta(hours=2)))
    other = list(generate(registry, seed=6, start=START, duration=timedelta(hours=2)))
    assert first == again
    assert [e for e in first if e["type"] != "heartbeat"] != [e for e in other if e["type"] != "heartbeat"]


def test_events_in_window_and_time_order(day: list[Event]) -> None:
    times = [_at(e) for e in day]
    assert times == sorted(times)
    assert times[0] >= START and times[-1] < START + DAY
    assert all(e["occurred_at"].endswith("+08:00") for e in day)
    assert len({e["event_id"] for e in day}) == len(day)


def test_every_event_validates(day: list[Event], registry: Registry) -> None:
    now = START + DAY
    rejected: collections.Counter[tuple[str, str]] = collections.Counter()
    for event in day:
        outcome = decode(encode(event), _feed(event), registry=registry, now=now)  # type: ignore[arg-type]
        if isinstance(outcome, Rejection):
            rejected[(event["type"], outcome.reason)] += 1
    assert not rejected


def test_every_type_appears(day: list[Event]) -> None:
    from schemas.events import EVENT_MODELS

    assert {e["type"] for e in day} == set(EVENT_MODELS)


def _ward_replay(day: list[Event]) -> tuple[dict[tuple[str, str], int], list[tuple[str, str, int, int]]]:
    """Occupancy from the first census plus bed events (cancelled ones removed), checked at every census.

    Returns the final replayed occupancy and, per later census, (facility, ward, replayed, census value).
    """
    cancelled = {e["cancelled_event_id"] for e in day if e["type"] == "bed.cancel"}
    occupied: dict[tuple[str, str], int] = {}
    checks: list[tuple[str, str, int, int]] = []
    for event in day:
        kind = event["type"]
        if not kind.startswith("bed.") or event["event_id"] in cancelled or kind == "bed.cancel":
            continue
        ward = (event["facility_id"], event["ward_id"])
        if kind == "bed.census":
            if ward in occupied:
                checks.append((*ward, occupied[ward], event["beds_occupied"]))
            occupied[ward] = event["beds_occupied"]
        elif kind == "bed.admit":
            occupied[ward] += 1
        elif kind == "bed.discharge":
            occupied[ward] = max(0, occupied[ward] - 1)
        elif kind == "bed.transfer":
            occupied[ward] = max(0, occupied[ward] - 1)
            occupied[(event["facility_id"], event["to_ward_id"])] += 1
    return occupied, checks


def test_censuses_agree_with_bed_events(day: list[Event]) -> None:
    _, checks = _ward_replay(day)
    assert len(checks) > 20 * 24
    assert [c for c in checks if c[2] != c[3]] == []


def test_county_occupancy_stays_in_band(day: list[Event], registry: Registry) -> None:
    staffed = {(f.id, w.id): w.beds for f in registry.facilities.values() for w in f.wards.values()}
    latest: dict[tuple[str, str], int] = {}
    by_hour: dict[str, dict[str, float]] = collections.defaultdict(dict)
    for event in day:
        if event["type"] == "bed.census":
            latest[(event["facility_id"], event["ward_id"])] = event["beds_occupied"]
            for facility in registry.by_level["county_hospital"]:
                wards = [k for k in staffed if k[0] == facility.id]
                if all(k in latest for k in wards):
                    ratio = sum(latest[k] for k in wards) / sum(staffed[k] for k in wards)
                    by_hour[event["occurred_at"]][facility.id] = ratio
    ratios = [r for hour in by_hour.values() for r in hour.values()]
    assert len(by_hour) >= 24
    assert min(ratios) >= 0.75 and max(ratios) <= 0.95, (min(ratios), max(ratios))
    # Wards move over the day (a static picture would not exercise the dashboards).
    assert max(ratios) - min(ratios) > 0.02


def _local_hour(event: Event) -> int:
    return _at(event).astimezone(CST).hour


def test_daily_rhythm_has_a_morning_peak(day: list[Event]) -> None:
    outpatient = collections.Counter(_local_hour(e) for e in day if e["type"] == "visit.outpatient")
    morning = sum(outpatient[h] for h in (8, 9, 10))
    night = sum(outpatient[h] for h in (1, 2, 3))
    assert morning > 10 * max(night, 1)
    ed = collections.Counter(_local_hour(e) for e in day if e["type"] == "ed.arrival")
    assert sum(ed[h] for h in (9, 10, 11)) > 2 * sum(ed[h] for h in (2, 3, 4))


def test_ed_flow(day: list[Event]) -> None:
    arrivals = {e["visit_id"] for e in day if e["type"] == "ed.arrival"}
    departures = [e for e in day if e["type"] == "ed.departure"]
    dispositions = collections.Counter(e["disposition"] for e in departures)
    assert len(arrivals) > 300
    assert {e["visit_id"] for e in departures} <= arrivals
    assert dispositions["left_without_being_seen"] > 0 and dispositions["admitted"] > 0
    assert dispositions["left_without_being_seen"] / len(departures) < 0.05  # a normal day does not page


def test_heartbeats_every_30_to_60_s_while_running(day: list[Event], registry: Registry) -> None:
    beats: dict[tuple[str, str], list[datetime]] = collections.defaultdict(list)
    for event in day:
        if event["type"] == "heartbeat":
            beats[(event["facility_id"], event["feed"])].append(_at(event))
    for facility in registry.facilities.values():
        feeds = (
            ("visits", "requests") if facility.level == "village_clinic" else ("beds", "visits", "requests")
        )
        assert {f for (fid, f) in beats if fid == facility.id} == set(feeds)
        for feed in feeds:
            times = beats[(facility.id, feed)]
            gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
            hours = facility.opening_hours
            if hours is None:
                assert times[0] - START <= timedelta(seconds=60) and START + DAY - times[-1] <= timedelta(
                    seconds=60
                )
                assert min(gaps) >= 30 and max(gaps) <= 60
            else:
                assert all(hours.is_open(t.astimezone(CST)) for t in times)
                assert max(g for g in gaps if g < 3600) <= 60


def test_village_clinics_publish_only_when_open(day: list[Event], registry: Registry) -> None:
    clinics = {f.id: f for f in registry.by_level["village_clinic"]}
    for event in day:
        clinic = clinics.get(event["facility_id"])
        if clinic is not None and event["type"] in ("heartbeat", "visit.outpatient", "request.submitted"):
            assert clinic.opening_hours is not None and clinic.opening_hours.is_open(
                _at(event).astimezone(CST)
            )


def test_requests_progress_through_stages(day: list[Event], registry: Registry) -> None:
    order = [
        "request.submitted",
        "request.accepted",
        "request.dispatched",
        "request.arrived",
        "request.completed",
    ]
    by_request: dict[str, list[Event]] = collections.defaultdict(list)
    for event in day:
        if event["type"].startswith("request."):
            by_request[event["request_id"]].append(event)
    assert 30 <= len(by_request) <= 150  # "a few an hour"
    endings: collections.Counter[str] = collections.Counter()
    late_accepts = 0
    for events in by_request.values():
        kinds = [e["type"] for e in events]
        submitted = events[0]
        assert kinds[0] == "request.submitted"
        receiver = registry.facilities[submitted["to_facility_id"]]
        assert receiver.level == "county_hospital"
        assert registry.facilities[submitted["facility_id"]].level != "county_hospital"
        staged = [k for k in kinds if k in order]
        assert staged == order[: len(staged)]  # in order, none skipped
        endings[kinds[-1]] += 1
        if "request.accepted" in kinds:
            accepted = events[kinds.index("request.accepted")]
            late_accepts += _at(accepted) - _at(submitted) > timedelta(minutes=10)
            assert accepted["facility_id"] == receiver.id
    assert endings["request.completed"] > len(by_request) / 2
    assert late_accepts >= 1
    assert endings["request.rejected"] + endings["request.cancelled"] >= 1
