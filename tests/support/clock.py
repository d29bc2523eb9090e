"""The tests' clock: a fixed past morning for logs that must not depend on the hour, and visits
after local midnight for tests that need a figure of "today" above 0 at any hour.

    >>> start = past_morning()                  # 08:00 Asia/Shanghai yesterday, as UTC
    >>> now = wait_past_midnight()              # not in the first seconds of a local day
    >>> events += visits_today(registry, seed=1, now=now)
    >>> events += referrals_today(registry, now=now)  # one of each direction since midnight
    >>> samples, expected = settled_scrape(worker.scrape, lambda at: reference(log, now=at))

The simulator's traffic follows the hour (clinics closed at night: a night hour holds a tenth of a
morning's events), so a window "ending now" is a different log at 03:00 and at 11:00. Today's
visits are therefore not left to the hour either: a morning's visits are moved to just after
midnight, spread up to a few seconds before now.
"""

from __future__ import annotations

import time as wall_clock
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

from schemas.registry import Registry
from streams.simulate import generate
from tests.support.referral_events import referral_event

# The alliance's clock (the contract's default zone): mornings and midnights are local.
ALLIANCE_ZONE: Final = ZoneInfo("Asia/Shanghai")
# Clinics are open and wards busy from 08:00: 20,000 messages take under 6 simulated hours.
MORNING: Final = time(8, 0)
TODAY_OUTPATIENT: Final = 20
TODAY_EMERGENCY: Final = 5
# Today's events end this long before now: the worker judges `future` on its own clock, later.
_BEFORE_NOW: Final = timedelta(seconds=5)
# A day's first seconds leave no room between midnight and now - _BEFORE_NOW: wait them out.
_DAY_ROOM: Final = timedelta(seconds=20)
_SOURCE_HOUR: Final = timedelta(hours=1)
# How often a scrape is taken again when a clock boundary falls between the reference's readings.
SCRAPE_ATTEMPTS: Final = 3
Scrape = TypeVar("Scrape")
Reading = TypeVar("Reading")


def settled_scrape(
    scrape: Callable[[], Scrape], reference: Callable[[datetime], Reading]
) -> tuple[Scrape, Reading]:
    """A scrape and the reference's figures at it, read just before and just after the scrape.
    If a clock boundary (ED long stay, due soon, overdue, last hour, a referral's pending limit,
    local midnight: today, and the first of a month: month to date) fell between the two readings,
    the worker's figure was legitimately either: the scrape is taken again."""
    for _ in range(SCRAPE_ATTEMPTS):
        before = reference(datetime.now(UTC))
        samples = scrape()
        if reference(datetime.now(UTC)) == before:
            return samples, before
    raise AssertionError(f"the reference changed across each of {SCRAPE_ATTEMPTS} scrapes")


def past_morning(now: datetime | None = None) -> datetime:
    """MORNING on the day before `now`'s local day (as UTC): at least 16 hours ago."""
    local_day = (now or datetime.now(UTC)).astimezone(ALLIANCE_ZONE).date() - timedelta(days=1)
    return datetime.combine(local_day, MORNING, ALLIANCE_ZONE).astimezone(UTC)


def local_midnight(now: datetime) -> datetime:
    """The start of `now`'s local day, as UTC."""
    return datetime.combine(now.astimezone(ALLIANCE_ZONE).date(), time(0), ALLIANCE_ZONE).astimezone(UTC)


def wait_past_midnight() -> datetime:
    """Now, once at least _DAY_ROOM of the local day has gone (a wait of at most 20 s)."""
    now = datetime.now(UTC)
    room = now - local_midnight(now)
    if room < _DAY_ROOM:
        wall_clock.sleep((_DAY_ROOM - room).total_seconds())
        now = datetime.now(UTC)
    return now


def visits_today(registry: Registry, *, seed: int, now: datetime) -> list[dict[str, Any]]:
    """TODAY_OUTPATIENT outpatient visits and TODAY_EMERGENCY ED visits of a simulated morning,
    moved to between local midnight and `now` - _BEFORE_NOW (each ED visit as a block: arrival,
    triage, and its departure if that still falls before then), in time order."""
    first, last = local_midnight(now) + timedelta(seconds=1), now - _BEFORE_NOW
    assert last > first, f"no room for today's visits between {first} and {last}: use wait_past_midnight"
    source = list(generate(registry, seed=seed, start=past_morning(now), duration=_SOURCE_HOUR))
    outpatient = [e for e in source if e["type"] == "visit.outpatient"][:TODAY_OUTPATIENT]
    moved = [
        _at(event, slot) for event, slot in zip(outpatient, _slots(first, last, len(outpatient)), strict=True)
    ]
    emergency = _ed_visits(source)[:TODAY_EMERGENCY]
    for visit, slot in zip(emergency, _slots(first, last, len(emergency)), strict=True):
        shift = slot - _occurred(visit[0])
        moved += [_at(e, _occurred(e) + shift) for e in visit if _occurred(e) + shift <= last]
    assert len(outpatient) == TODAY_OUTPATIENT and len(emergency) == TODAY_EMERGENCY
    return sorted(moved, key=_occurred)


def referrals_today(registry: Registry, *, now: datetime) -> list[dict[str, Any]]:
    """One referral of each direction (up with a target ward, down, lateral, out of the alliance in
    and out of the county) requested between local midnight and `now` - _BEFORE_NOW, the up and
    the lateral ones accepted by their receiver a second later, in time order."""
    first, last = local_midnight(now) + timedelta(seconds=1), now - _BEFORE_NOW
    assert last > first, f"no room for today's referrals between {first} and {last}: use wait_past_midnight"
    hospitals, centers = (
        sorted(f.id for f in registry.facilities.values() if f.level == level)
        for level in ("county_hospital", "town_health_center")
    )
    hospital, center, other_center = hospitals[0], centers[0], centers[1]
    ward = next(iter(registry.facilities[hospital].wards))
    other = {"reason": "other"}
    # (sender, destination and reason, accepted)
    table: list[tuple[str, dict[str, str], bool]] = [
        (center, {"to_facility_id": hospital, "target_ward_id": ward, "reason": "beyond_capability"}, True),
        (hospital, {"to_facility_id": center, "reason": "recovery"}, False),
        (center, {"to_facility_id": other_center, "reason": "equipment"}, True),
        (hospital, {"to_external_code": "GD-GZ-01", "to_external_scope": "out_of_county", **other}, False),
        (hospital, {"to_external_code": "GD-YJ-01", "to_external_scope": "in_county", **other}, False),
    ]  # fmt: skip
    events: list[dict[str, Any]] = []
    for (sender, fields, accepted), slot in zip(table, _slots(first, last, len(table)), strict=True):
        referral_id = f"ref-today-{uuid.uuid4().hex[:12]}"
        events.append(
            referral_event("referral.requested", sender, slot, referral_id, department="内科", **fields)
        )
        answer = slot + timedelta(seconds=1)
        if accepted and answer <= last:
            events.append(referral_event("referral.accepted", fields["to_facility_id"], answer, referral_id))
    return sorted(events, key=_occurred)


def _ed_visits(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The ED visits that begin with their arrival in `events`, each as its events in time order."""
    visits: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event["type"].startswith("ed.") and (event["type"] == "ed.arrival" or event["visit_id"] in visits):
            visits.setdefault(event["visit_id"], []).append(event)
    return list(visits.values())


def _slots(first: datetime, last: datetime, count: int) -> Iterator[datetime]:
    span = last - first
    return (first + span * (index + 0.5) / count for index in range(count))


def _occurred(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def _at(event: dict[str, Any], moment: datetime) -> dict[str, Any]:
    stamped = moment.replace(microsecond=0).astimezone(_occurred(event).tzinfo)
    return {**event, "occurred_at": stamped.isoformat()}
