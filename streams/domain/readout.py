"""What one partition's state says now: metric samples and the open-request board (pure).

    >>> read = partition_samples(items, readout)   # read.samples: [(spec, labels, value), ...]
    >>> board = open_requests(items, readout, partition=3)
    >>> flows = open_referrals(items, readout, partition=3)

Gauges that depend on the clock (today's and this month's visits and referrals, long ED stays,
last-hour arrivals, due-soon and overdue requests, pending and expired referrals) are computed
here, when read, from stored event times and `Readout.now` in the local zone: "this month" is the
local month of now up to today, so a day series counts in the month its local date is in.

An open referral on the board (`open_referrals`, the `referrals` of /api/requests/open): `display`
(a number, never the referral_id), `direction`, `reason`, `from_facility`, `to_facility` (the
receiver's id, or `external_in_county` / `external_out_of_county`), `target_ward` (or null),
`stage` (the furthest reached), `requested_at`, `stage_times` {stage: time}, `elapsed_seconds`
since the request, `limit_seconds` (the policy's pending limit for its direction), `pending`,
`expired` (pending at or past the limit) and `late` (accepted at or past it), `partition`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from schemas.events import STANDARD_STAGES
from schemas.metrics import (
    BEDS_OCCUPIED,
    BEDS_STAFFED,
    CASE_CLOCKS_DUE_SOON,
    CASE_CLOCKS_OVERDUE,
    CASES_OPEN,
    ED_ARRIVALS_LAST_HOUR,
    ED_LONG_STAY,
    ED_PATIENTS,
    REFERRALS_EXPIRED,
    REFERRALS_PENDING,
    REQUESTS_DUE_SOON,
    REQUESTS_OPEN,
    REQUESTS_OVERDUE,
    MetricSpec,
)
from schemas.policy import Centers, Referrals
from schemas.registry import Registry
from streams.domain import beds, cases, referrals, requests, visits
from streams.domain.state import (
    DAY_SERIES,
    SEP,
    Unreadable,
    cell_counts,
    facility_of_beds,
    facility_of_visit,
    readable,
    spec_of,
)

Sample = tuple[MetricSpec, tuple[str, ...], Any]
Gauges = Counter[tuple[MetricSpec, tuple[str, ...]]]
_HOUR: Final = 3600.0


@dataclass(frozen=True, slots=True)
class Readout:
    registry: Registry
    now: datetime
    zone: ZoneInfo
    long_stay_seconds: float
    standards: dict[tuple[str, str], float]  # (category, stage) -> seconds
    due_soon_fraction: float
    centers: Centers
    referrals: Referrals  # the pending limits


@dataclass(frozen=True, slots=True)
class PartitionReadout:
    samples: list[Sample]
    unread: Counter[Unreadable]  # what was skipped, by why (state.readable)


def partition_samples(items: Iterable[tuple[str, Any]], readout: Readout) -> PartitionReadout:
    """Every sample of one partition: totals (counters, histograms, last-seen, today's visits) and
    gauges from entity values. Histogram values are ([non-cumulative bucket counts..., +Inf], sum).
    Keys, series and formats this worker does not know are skipped and counted, never fatal."""
    now = readout.now.timestamp()
    today = readout.now.astimezone(readout.zone).date()
    days = (today.replace(day=1).isoformat(), today.isoformat())
    gauges: Gauges = Counter()
    samples: list[Sample] = []
    unread: Counter[Unreadable] = Counter()
    for key, kind, value in readable(items, unread):
        if kind == "totals":
            samples.extend(_totals_samples(value["counters"], days, gauges, unread))
        elif kind == "beds":
            samples.extend(_beds_samples(facility_of_beds(key), value["state"], readout.registry))
        elif kind == "visit":
            _count_ed_visit(gauges, facility_of_visit(key), value["state"], now, readout.long_stay_seconds)
        elif kind == "request":
            _count_request(gauges, value["state"], now, readout)
        elif kind == "case":
            _count_case(gauges, value["state"], now, readout.centers)
        elif kind == "referral":
            _count_referral(gauges, value["state"], now, readout.referrals)
    samples.extend((spec, labels, float(count)) for (spec, labels), count in gauges.items())
    return PartitionReadout(samples, unread)


def _totals_samples(
    counters: dict[str, Any],
    days: tuple[str, str],
    gauges: Gauges,
    unread: Counter[Unreadable],
) -> Iterable[Sample]:
    """The totals' series; a day series adds to its today and month gauges (`days`: the month's
    first local date and today's; ISO dates compare as dates)."""
    month_start, today = days
    for key, value in counters.items():
        series, *labels = key.split(SEP)
        day = DAY_SERIES.get(series)
        if day is not None:
            *gauge_labels, date = labels
            if month_start <= date <= today:
                gauges[(day.month, tuple(gauge_labels))] += value
                if date == today:
                    gauges[(day.today, tuple(gauge_labels))] += value
            continue
        spec = spec_of(series)
        if spec is None:
            unread["unknown_series"] += 1
        elif spec.type == "histogram":
            yield spec, tuple(labels), cell_counts(value, spec.buckets)
        else:
            yield spec, tuple(labels), value


def _beds_samples(facility_id: str, state: dict[str, Any], registry: Registry) -> Iterable[Sample]:
    facility = registry.facilities.get(facility_id)
    if facility is None:  # removed from the registry since: its wards are no longer labels
        return
    for ward in facility.wards.values():
        staffed, occupied = beds.ward_figures(state, ward.id, nominal_beds=ward.beds)
        yield BEDS_STAFFED, (facility_id, ward.id), float(staffed)
        yield BEDS_OCCUPIED, (facility_id, ward.id), float(occupied)


def _count_ed_visit(
    gauges: Gauges,
    facility: str,
    visit: dict[str, Any],
    now: float,
    long_stay_seconds: float,
) -> None:
    arrival = visit["arrival"]
    if arrival is None:
        return
    if now - _HOUR <= arrival[0] <= now:
        gauges[(ED_ARRIVALS_LAST_HOUR, (facility,))] += 1
    if visits.in_ed(visit):
        gauges[(ED_PATIENTS, (facility, visits.triage_level(visit)))] += 1
        if now - arrival[0] > long_stay_seconds:
            gauges[(ED_LONG_STAY, (facility,))] += 1


def _count_request(gauges: Gauges, request: dict[str, Any], now: float, readout: Readout) -> None:
    if not requests.is_open(request):
        return
    category, to_facility = request["category"], request["to_facility"]
    stage = requests.furthest_stage(request)
    gauges[(REQUESTS_OPEN, (category, stage, request["from_facility"], to_facility))] += 1
    for clock in STANDARD_STAGES:
        status = requests.clock_status(
            request,
            clock,
            now=now,
            standard=readout.standards[(category, clock)],
            due_soon_fraction=readout.due_soon_fraction,
        )
        if status == "overdue":
            gauges[(REQUESTS_OVERDUE, (category, clock, to_facility))] += 1
        elif status == "due_soon":
            gauges[(REQUESTS_DUE_SOON, (category, clock, to_facility))] += 1


_CASE_CLOCKS: Final = {"overdue": CASE_CLOCKS_OVERDUE, "due_soon": CASE_CLOCKS_DUE_SOON}


def _count_case(gauges: Gauges, case: dict[str, Any], now: float, centers: Centers) -> None:
    if not cases.is_open(case):
        return
    category, center = case["cat"], case["door"]
    gauges[(CASES_OPEN, (category, center))] += 1
    for clock in cases.running_clocks(case, centers, now=now):
        spec = _CASE_CLOCKS.get(clock.status)
        if spec is not None:
            gauges[(spec, (category, clock.standard, center))] += 1


def _count_referral(gauges: Gauges, referral: dict[str, Any], now: float, limits: Referrals) -> None:
    if not referrals.is_pending(referral):
        return
    labels = (referral["to_facility"], referrals.target_ward(referral) or "")
    gauges[(REFERRALS_PENDING, labels)] += 1
    if referrals.is_expired(referral, now=now, limits=limits):
        gauges[(REFERRALS_EXPIRED, labels)] += 1


def display_number(request_key: str) -> str:
    """A stable number for the wall instead of the request_id (a pseudonym is never shown)."""
    digest = hashlib.blake2b(request_key.encode(), digest_size=8).digest()
    return f"No. {int.from_bytes(digest, 'big') % 1_000_000:06d}"


def open_requests(
    items: Iterable[tuple[str, Any]], readout: Readout, *, partition: int
) -> list[dict[str, Any]]:
    """The open requests of a partition, for the board: no request_id, a display number instead."""
    now = readout.now.timestamp()
    board = []
    for key, kind, value in readable(items):
        request = value["state"] if kind == "request" else None
        if request is None or not requests.is_open(request):
            continue
        category = request["category"]
        standards = {clock: readout.standards[(category, clock)] for clock in STANDARD_STAGES}
        statuses = {
            clock: requests.clock_status(
                request, clock, now=now, standard=seconds, due_soon_fraction=readout.due_soon_fraction
            )
            for clock, seconds in standards.items()
        }
        board.append(
            {
                "display": display_number(key),
                "category": category,
                "from_facility": request["from_facility"],
                "to_facility": request["to_facility"],
                "stage": requests.furthest_stage(request),
                "submitted_at": _iso(request["submitted"][0]),
                "stage_times": {stage: _iso(times[0]) for stage, times in request["stages"].items()},
                "elapsed_seconds": max(0.0, now - request["submitted"][0]),
                "standards": standards,
                "due_soon": [clock for clock, status in statuses.items() if status == "due_soon"],
                "overdue": [clock for clock, status in statuses.items() if status == "overdue"],
                "partition": partition,
            }
        )
    return sorted(board, key=lambda entry: entry["submitted_at"])


def open_cases(items: Iterable[tuple[str, Any]], readout: Readout, *, partition: int) -> list[dict[str, Any]]:
    """The open clinical cases of a partition, for the wall: a display number instead of the case_id,
    and each running clock of a standard (elapsed against its minutes)."""
    now = readout.now.timestamp()
    minutes = {standard.id: standard.minutes for standard in readout.centers.intervals}
    board = []
    for key, kind, value in readable(items):
        case = value["state"] if kind == "case" else None
        if case is None or not cases.is_open(case):
            continue
        clocks = [
            {
                "interval": clock.standard,
                "elapsed_seconds": clock.elapsed,
                "standard_seconds": minutes[clock.standard] * 60.0,
                "status": clock.status,
            }
            for clock in cases.running_clocks(case, readout.centers, now=now)
        ]
        board.append(
            {
                "display": display_number(key),
                "category": case["cat"],
                "center": case["door"],
                "arrival_mode": case["arr"],
                "opened_at": _iso(case["open"][0]),
                "clocks": clocks,
                "partition": partition,
            }
        )
    return sorted(board, key=lambda entry: entry["opened_at"])


def open_referrals(
    items: Iterable[tuple[str, Any]], readout: Readout, *, partition: int
) -> list[dict[str, Any]]:
    """The open (not ended) referrals of a partition, for the wall (fields: the module docstring);
    a display number instead of the referral_id."""
    now = readout.now.timestamp()
    board = []
    for key, kind, value in readable(items):
        referral = value["state"] if kind == "referral" else None
        if referral is None or not referrals.is_open(referral):
            continue
        board.append(
            {
                "display": display_number(key),
                "direction": referral["direction"],
                "reason": referral["reason"],
                "from_facility": referral["from_facility"],
                "to_facility": referral["to_facility"],
                "target_ward": referrals.target_ward(referral),
                "stage": referrals.furthest_stage(referral),
                "requested_at": _iso(referral["requested"][0]),
                "stage_times": {stage: _iso(times[0]) for stage, times in referral["stages"].items()},
                "elapsed_seconds": referrals.elapsed(referral, now=now),
                "limit_seconds": readout.referrals.pending_limit_seconds(referral["direction"]),
                "pending": referrals.is_pending(referral),
                "expired": referrals.is_expired(referral, now=now, limits=readout.referrals),
                "late": referrals.accepted_late(referral, limits=readout.referrals),
                "partition": partition,
            }
        )
    return sorted(board, key=lambda entry: entry["requested_at"])


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
