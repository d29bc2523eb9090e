"""Scenarios drive their condition within their window and end it afterwards."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from schemas.decode import Rejection, decode
from schemas.registry import Registry
from streams.simulate import encode, generate
from streams.simulate.wire import feed_of_event

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 20, 10, 0, tzinfo=CST)
# Starts 5 minutes in (at a 5-minute mark), lasts 30 minutes.
BEGINS, ENDS = START + timedelta(minutes=5), START + timedelta(minutes=35)
SPAN = timedelta(hours=2)
Event = dict[str, Any]


def _at(event: Event) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def _run(registry: Registry, scenario: str) -> list[Event]:
    return list(generate(registry, seed=2, start=START, duration=SPAN, scenario=scenario))


def _all_valid(events: list[Event], registry: Registry) -> bool:
    now = START + SPAN
    return not any(
        isinstance(decode(encode(e), feed_of_event(e), registry=registry, now=now), Rejection) for e in events
    )


def test_unknown_scenario_is_refused(registry: Registry) -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        next(generate(registry, seed=1, start=START, duration=SPAN, scenario="meteor"))


def test_ward_surge_fills_a_ward_then_ends(registry: Registry) -> None:
    events = _run(registry, "ward-surge")
    censuses = [
        e
        for e in events
        if e["type"] == "bed.census"
        and e["facility_id"] == "yx-ch-people"
        and e["ward_id"] == "general-medicine"
    ]
    during = [e for e in censuses if BEGINS + timedelta(minutes=2) <= _at(e) < ENDS]
    after = [e for e in censuses if _at(e) >= ENDS + timedelta(minutes=2)]
    assert len(during) >= 5  # every 5 minutes while it lasts
    assert all(e["beds_occupied"] >= math.ceil(0.95 * e["beds_staffed"]) for e in during)
    assert after and all(e["beds_occupied"] < 0.93 * e["beds_staffed"] for e in after)
    assert _all_valid(events, registry)


def test_ed_surge_is_a_burst_of_arrivals(registry: Registry) -> None:
    events = _run(registry, "ed-surge")
    baseline = _run(registry, "stale-feed")  # same seed, no ED burst

    def arrivals(evts: list[Event]) -> int:
        return sum(
            1
            for e in evts
            if e["type"] == "ed.arrival"
            and e["facility_id"] == "yx-ch-people"
            and BEGINS <= _at(e) < BEGINS + timedelta(minutes=10)
        )

    assert arrivals(events) >= 60 > 5 * arrivals(baseline)
    assert _all_valid(events, registry)


def test_stale_feed_silences_one_hospital_beds_feed(registry: Registry) -> None:
    events = _run(registry, "stale-feed")
    beds = [_at(e) for e in events if e["facility_id"] == "yx-ch-tcm" and feed_of_event(e) == "beds"]
    assert any(t < BEGINS for t in beds) and any(t >= ENDS for t in beds)
    assert not [t for t in beds if BEGINS <= t < ENDS]
    # Its other feeds and the other hospitals keep going.
    visits = [_at(e) for e in events if e["facility_id"] == "yx-ch-tcm" and feed_of_event(e) == "visits"]
    assert any(BEGINS <= t < ENDS for t in visits)
    people = [_at(e) for e in events if e["facility_id"] == "yx-ch-people" and feed_of_event(e) == "beds"]
    assert any(BEGINS <= t < ENDS for t in people)


def test_overdue_requests_are_never_accepted_then_cancelled(registry: Registry) -> None:
    events = _run(registry, "overdue-request")
    submitted = [
        e
        for e in events
        if e["type"] == "request.submitted"
        and BEGINS <= _at(e) < BEGINS + timedelta(seconds=5)
        and e["to_facility_id"] == "yx-ch-people"
    ]
    assert len(submitted) >= 3
    scenario_ids = {e["request_id"] for e in submitted}
    later = [e for e in events if e.get("request_id") in scenario_ids and e["type"] != "request.submitted"]
    overdue = {e["request_id"] for e in later if e["type"] == "request.cancelled" and _at(e) == ENDS}
    assert len(overdue) >= 3
    assert not [e for e in later if e["request_id"] in overdue and e["type"] != "request.cancelled"]
    assert _all_valid(events, registry)


def test_expired_referrals_wait_past_the_up_limit_then_are_cancelled(registry: Registry) -> None:
    events = list(
        generate(registry, seed=2, start=START, duration=timedelta(hours=3), scenario="expired-referral")
    )
    up_limit = timedelta(hours=2)  # docs/contract.md: an up-referral pending 2 h is expired
    requested = [
        e
        for e in events
        if e["type"] == "referral.requested"
        and BEGINS <= _at(e) < BEGINS + timedelta(seconds=5)
        and e.get("to_facility_id") == "yx-ch-people"
    ]
    assert len(requested) == 3 and all("target_ward_id" in e for e in requested)
    ids = {e["referral_id"] for e in requested}
    later = [e for e in events if e.get("referral_id") in ids and e["type"] != "referral.requested"]
    assert {e["type"] for e in later} == {"referral.cancelled"} and len(later) == 3
    # Cancelled after the limit (and 15 min to be seen expired), by their senders.
    senders = {e["referral_id"]: e["facility_id"] for e in requested}
    for event in later:
        assert _at(event) >= BEGINS + up_limit + timedelta(minutes=10)
        assert event["facility_id"] == senders[event["referral_id"]]
    now = START + timedelta(hours=3)
    for event in (*requested, *later):
        assert not isinstance(decode(encode(event), "requests", registry=registry, now=now), Rejection)


def test_scenario_can_start_later(registry: Registry) -> None:
    events = list(
        generate(
            registry,
            seed=2,
            start=START,
            duration=SPAN,
            scenario="stale-feed",
            scenario_at=timedelta(minutes=61),
            scenario_length=timedelta(minutes=10),
        )
    )
    silent_from, silent_to = START + timedelta(minutes=65), START + timedelta(minutes=75)
    beds = [_at(e) for e in events if e["facility_id"] == "yx-ch-tcm" and feed_of_event(e) == "beds"]
    assert not [t for t in beds if silent_from <= t < silent_to]
    assert [t for t in beds if START + timedelta(minutes=55) <= t < silent_from]
