"""Simulated two-way referrals: every event valid and from the facility the contract names, the
directions a county alliance has (computed here from the registry YAML's levels), volumes by day and
by night, the whole lifecycle (late and expired ones judged against the limits typed below from
docs/contract.md), determinism, and referrals waiting at go-live."""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from schemas.decode import Rejection, decode
from schemas.policy import Referrals
from schemas.registry import Registry
from streams.simulate import encode, generate
from streams.simulate.referrals import ReferralFlow
from streams.simulate.timeline import Agenda
from streams.simulate.wire import message_key

CST: Final = timezone(timedelta(hours=8))
DAY_START: Final = datetime(2026, 11, 20, 0, 0, tzinfo=CST)
# docs/contract.md: up 2 h, lateral 4 h, down and external 24 h.
LIMIT_MINUTES: Final = {"up": 120, "lateral": 240, "down": 1440, "external": 1440}
RANK: Final = {"county_hospital": 3, "town_health_center": 2, "village_clinic": 1}
UP_REASONS: Final = {"beyond_capability", "equipment", "specialist", "patient_choice"}
DOWN_REASONS: Final = {"recovery", "chronic_care"}
RECEIVER_TYPES: Final = {"accepted", "rejected", "arrived", "returned", "closed"}
Event = dict[str, Any]

_YAML: Final = yaml.safe_load((Path(__file__).parents[2] / "schemas" / "yangxi.yaml").read_text("utf-8"))
FACILITIES: Final = {f["id"]: f for f in _YAML["facilities"]}


def _at(event: Event) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def direction(request: Event) -> str:
    if "to_external_code" in request:
        return "external"
    sender, receiver = (RANK[FACILITIES[request[k]]["level"]] for k in ("facility_id", "to_facility_id"))
    return "up" if receiver > sender else "down" if receiver < sender else "lateral"


def by_referral(events: list[Event]) -> dict[str, dict[str, Any]]:
    """referral_id -> {"requested": event, stage: first event of that stage}."""
    referrals: dict[str, dict[str, Any]] = defaultdict(dict)
    for event in events:
        if event["type"].startswith("referral."):
            referrals[event["referral_id"]].setdefault(event["type"].removeprefix("referral."), event)
    return dict(referrals)


def minutes_to(referral: dict[str, Any], stage: str) -> float:
    return (_at(referral[stage]) - _at(referral["requested"])).total_seconds() / 60


def expired_by(referral: dict[str, Any], now: datetime) -> bool:
    """Pending (nothing after the request, not ended) for at least its limit at `now`."""
    request = referral["requested"]
    answered = [_at(referral[s]) for s in ("accepted", "rejected", "cancelled", "arrived") if s in referral]
    limit = timedelta(minutes=LIMIT_MINUTES[direction(request)])
    return _at(request) + limit <= now and not any(a < _at(request) + limit for a in answered)


@pytest.fixture(scope="module")
def day(registry: Registry) -> list[Event]:
    return [e for e in generate(registry, seed=1, start=DAY_START, duration=timedelta(days=1))]


@pytest.fixture(scope="module")
def season(registry: Registry) -> dict[str, dict[str, Any]]:
    """30 days of referrals alone (the flow without the others: fast), and their events to 10 days on."""
    return by_referral(_flow_events(registry, _limits(LIMIT_MINUTES), days=30))


def _limits(minutes: Mapping[str, float]) -> Referrals:
    return Referrals(pending_limit_minutes=dict(minutes))  # type: ignore[arg-type]


def _flow_events(registry: Registry, limits: Referrals, *, days: int) -> list[Event]:
    flow = ReferralFlow(registry, random.Random("referrals-season"), limits)
    agenda, events, chunk, moment = Agenda(prefix="t"), [], timedelta(minutes=5), DAY_START
    while moment < DAY_START + timedelta(days=days):
        flow.step(agenda, moment, chunk)
        moment += chunk
        events += [event for _, event in agenda.pop_until(moment)]
    events += [event for _, event in agenda.pop_until(moment + timedelta(days=10))]
    return events


def referral_events(events: list[Event]) -> list[Event]:
    return [e for e in events if e["type"].startswith("referral.")]


def test_every_referral_event_validates_keyed_by_an_opaque_referral_id(
    day: list[Event], registry: Registry
) -> None:
    events = referral_events(day)
    assert len(events) > 100
    now = DAY_START + timedelta(days=1)
    names = {f["name"] for f in FACILITIES.values()} | set(FACILITIES)
    for event in events:
        decoded = decode(encode(event), "requests", registry=registry, now=now)
        assert not isinstance(decoded, Rejection), (event, decoded)
        assert message_key(event) == event["referral_id"]
        assert re.fullmatch(r"[A-Za-z0-9-]{6,40}", event["referral_id"])
        assert not any(name in event["referral_id"] for name in names)
    ids = [e["event_id"] for e in day]
    assert len(ids) == len(set(ids))


def test_each_event_comes_from_the_facility_the_contract_names(day: list[Event]) -> None:
    referrals = by_referral(day)
    checked = Counter[str]()
    for referral in referrals.values():
        request = referral["requested"]
        for stage, event in referral.items():
            if stage in ("requested", "cancelled"):
                assert event["facility_id"] == request["facility_id"]
            elif "to_facility_id" in request:
                assert stage in RECEIVER_TYPES
                assert event["facility_id"] == request["to_facility_id"], (stage, event, request)
            else:  # an outside hospital publishes nothing: the sender relays its answer
                assert event["facility_id"] == request["facility_id"]
            assert _at(event) >= _at(request)
            checked[stage] += 1
    assert set(checked) == {"requested", "accepted", "rejected", "arrived", "returned", "closed", "cancelled"}


def test_target_wards_are_the_receivers_sometimes_at_request_sometimes_at_acceptance(
    day: list[Event],
) -> None:
    named_at = Counter[str]()
    for referral in by_referral(day).values():
        request = referral["requested"]
        for stage in ("requested", "accepted"):
            ward = referral.get(stage, {}).get("target_ward_id")
            if ward is not None:
                receiver = FACILITIES[request["to_facility_id"]]
                assert ward in {w["id"] for w in receiver.get("wards", ())}
                named_at[stage] += 1
        if "to_facility_id" in request and "target_ward_id" not in request:
            named_at["unknown at request"] += 1
    assert named_at["requested"] >= 5 and named_at["accepted"] >= 5 and named_at["unknown at request"] >= 10


def test_a_day_has_every_direction_and_both_outside_scopes(day: list[Event]) -> None:
    requests = [r["requested"] for r in by_referral(day).values()]
    counts = Counter(direction(r) for r in requests)
    assert 25 <= counts["up"] <= 90, counts  # tens a day for a county of ~500k
    assert 0.25 * counts["up"] <= counts["down"] <= 0.6 * counts["up"], counts
    assert 1 <= counts["lateral"] < counts["down"] and 1 <= counts["external"] < counts["down"], counts
    scopes = Counter(r["to_external_scope"] for r in requests if direction(r) == "external")
    assert scopes["in_county"] >= 1 and scopes["out_of_county"] > scopes["in_county"], scopes
    for request in requests:
        code = request.get("to_external_code")
        assert code is None or code not in FACILITIES


def test_a_day_has_late_acceptances_and_expired_referrals(day: list[Event]) -> None:
    ups = [r for r in by_referral(day).values() if direction(r["requested"]) == "up"]
    late = [r for r in ups if "accepted" in r and minutes_to(r, "accepted") >= LIMIT_MINUTES["up"]]
    end = DAY_START + timedelta(days=1)
    expired = [r for r in ups if expired_by(r, end) and "accepted" not in r]
    assert late and expired
    assert len(late) + len(expired) <= 0.25 * len(ups)


def test_directions_senders_and_reasons_over_a_month(season: dict[str, dict[str, Any]]) -> None:
    requests = [r["requested"] for r in season.values()]
    by_direction: dict[str, list[Event]] = defaultdict(list)
    for request in requests:
        by_direction[direction(request)].append(request)
    up, down = by_direction["up"], by_direction["down"]
    assert 30 * 25 <= len(up) <= 30 * 90
    assert 0.33 <= len(down) / len(up) <= 0.5  # a third to a half of the up-referrals
    assert {r["reason"] for r in up} == UP_REASONS
    assert {r["reason"] for r in down} == DOWN_REASONS
    level = lambda r, key: FACILITIES[r[key]]["level"]  # noqa: E731
    assert {level(r, "facility_id") for r in up} == {"town_health_center", "village_clinic"}
    assert {level(r, "facility_id") for r in down} == {"county_hospital"}
    to_clinics = sum(level(r, "to_facility_id") == "village_clinic" for r in down) / len(down)
    assert 0.03 <= to_clinics <= 0.3  # a few down to village clinics
    from_clinics = [r for r in up if level(r, "facility_id") == "village_clinic"]
    own_center = sum(
        FACILITIES[r["to_facility_id"]]["level"] == "town_health_center"
        and FACILITIES[r["to_facility_id"]]["township"] == FACILITIES[r["facility_id"]]["township"]
        for r in from_clinics
    ) / len(from_clinics)
    assert 0.6 <= own_center <= 0.95  # mostly to their township's center, sometimes straight up
    lateral_levels = {level(r, "facility_id") for r in by_direction["lateral"]}
    assert lateral_levels == {"county_hospital", "town_health_center"}
    external = by_direction["external"]
    assert 0.05 <= sum(r["to_external_scope"] == "in_county" for r in external) / len(external) <= 0.4


def test_lifecycle_shares_late_and_expired_against_the_documented_limits(
    season: dict[str, dict[str, Any]],
) -> None:
    ups = [r for r in season.values() if direction(r["requested"]) == "up"]
    downs = [r for r in season.values() if direction(r["requested"]) == "down"]
    rejected = sum("rejected" in r for r in season.values()) / len(season)
    assert 0.04 <= rejected <= 0.11
    cancelled = [r for r in season.values() if "cancelled" in r]
    assert 0.01 <= len(cancelled) / len(season) <= 0.06
    assert all("arrived" not in r for r in cancelled)  # cancelled before arrival
    up_accept = [minutes_to(r, "accepted") for r in ups if "accepted" in r]
    down_accept = [minutes_to(r, "accepted") for r in downs if "accepted" in r]
    assert 5 <= statistics.median(up_accept) <= 60  # minutes for up...
    assert 2 * 60 <= statistics.median(down_accept) <= 12 * 60  # ...hours for down
    late = sum(m >= LIMIT_MINUTES["up"] for m in up_accept) / len(up_accept)
    assert 0.02 <= late <= 0.15
    horizon = DAY_START + timedelta(days=40)
    expired = sum(expired_by(r, horizon) and "accepted" not in r for r in ups) / len(ups)
    assert 0.01 <= expired <= 0.08
    arrive_hours = [
        (minutes_to(r, "arrived") - minutes_to(r, "accepted")) / 60 for r in ups if "arrived" in r
    ]
    assert 1 <= statistics.median(arrive_hours) <= 6  # hours after acceptance
    for referral in season.values():
        times = [_at(referral[s]) for s in ("requested", "accepted", "arrived") if s in referral]
        assert times == sorted(times)
        ends = [s for s in ("returned", "closed", "rejected", "cancelled") if s in referral]
        assert len(ends) <= 1
        if ends and ends[0] in ("returned", "closed"):
            assert "arrived" in referral and _at(referral[ends[0]]) > _at(referral["arrived"])
    returned_up = sum("returned" in r for r in ups) / sum(("returned" in r or "closed" in r) for r in ups)
    assert 0.4 <= returned_up <= 0.9  # up-referrals mostly go back to their sender (回转)
    assert not any("returned" in r for r in downs)  # down-referrals end where they went


def test_acceptance_follows_the_policy_limits_it_is_given(registry: Registry) -> None:
    slow = by_referral(_flow_events(registry, _limits({**LIMIT_MINUTES, "up": 600}), days=5))
    fast = by_referral(_flow_events(registry, _limits(LIMIT_MINUTES), days=5))

    def median_up(referrals: dict[str, dict[str, Any]]) -> float:
        return statistics.median(
            minutes_to(r, "accepted")
            for r in referrals.values()
            if "accepted" in r and direction(r["requested"]) == "up"
        )

    assert 3 <= median_up(slow) / median_up(fast) <= 8  # a limit five times longer


def test_village_clinics_publish_only_while_open(season: dict[str, dict[str, Any]]) -> None:
    clinic_events = [
        e
        for r in season.values()
        for e in r.values()
        if FACILITIES[e["facility_id"]]["level"] == "village_clinic"
    ]
    assert len(clinic_events) > 100
    for event in clinic_events:
        hours = FACILITIES[event["facility_id"]]["opening_hours"]
        opens, closes = time.fromisoformat(hours["opens"]), time.fromisoformat(hours["closes"])
        assert opens <= _at(event).astimezone(CST).time() < closes, event


def test_volumes_by_day_and_by_night(registry: Registry, day: list[Event]) -> None:
    daytime = referral_events(
        list(generate(registry, seed=1, start=DAY_START + timedelta(hours=7), duration=timedelta(hours=14)))
    )
    night = referral_events(
        list(generate(registry, seed=1, start=DAY_START + timedelta(hours=18), duration=timedelta(hours=14)))
    )
    assert 100 <= len(daytime) <= 600  # a few hundred of the window's messages
    assert 3 <= sum(e["type"] == "referral.requested" for e in night) <= len(daytime) / 4
    hours = Counter(
        _at(e).astimezone(CST).hour for e in referral_events(day) if e["type"] == "referral.requested"
    )
    working = sum(n for h, n in hours.items() if 8 <= h < 18)
    assert working >= 0.65 * sum(hours.values())  # the working day


def test_the_same_seed_gives_the_same_referrals(registry: Registry) -> None:
    start, span = DAY_START + timedelta(hours=8), timedelta(hours=3)
    first = referral_events(list(generate(registry, seed=9, start=start, duration=span)))
    again = referral_events(list(generate(registry, seed=9, start=start, duration=span)))
    other = referral_events(list(generate(registry, seed=10, start=start, duration=span)))
    assert first and first == again
    assert [e["referral_id"] for e in first] != [e["referral_id"] for e in other]


@pytest.mark.parametrize(
    "go_live",
    [
        DAY_START.replace(hour=3),
        DAY_START.replace(hour=10),
        datetime(2026, 11, 30, 23, 55, tzinfo=CST),  # just before local midnight, at a month's end
        datetime(2026, 12, 1, 0, 5, tzinfo=CST),  # just after it
    ],
)
def test_referrals_wait_for_an_answer_at_go_live(registry: Registry, go_live: datetime) -> None:
    events = referral_events(
        list(
            generate(
                registry,
                seed=1,
                start=go_live - timedelta(hours=12),
                duration=timedelta(hours=12, minutes=30),
                live_from=go_live,
            )
        )
    )
    before = by_referral([e for e in events if _at(e) < go_live])
    pending = [
        r
        for r in before.values()
        if "requested" in r and set(r) == {"requested"} and not expired_by(r, go_live)
    ]
    assert len(pending) >= 2
    assert {direction(r["requested"]) for r in pending} >= {"up", "down"}
