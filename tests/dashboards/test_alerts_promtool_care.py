"""promtool unit tests of the care alerts (wards, county beds, ED, requests), production durations.

Each test states the input a worker would export, works out by hand when the condition starts,
and checks no alert one minute before its `for:` ends and the exact alert (labels, both languages)
at it. Facility names come from the registry, values from plain arithmetic on the input.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import metrics as c
from schemas.registry import Facility, Registry
from tests.dashboards.alert_series import boundary, expected_alert, info, names, run_promtool, series

HOSPITAL = "yx-ch-people"
TOWN = "yx-thc-zhigong"


def check(
    tmp_path: Path,
    input_series: list[dict[str, str]],
    tests: list[dict[str, object]],
    groups: set[str] | None = None,
) -> None:
    case = {"interval": "1m", "input_series": input_series, "alert_rule_test": tests}
    result = run_promtool(tmp_path, [case], groups=groups)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def hospital(registry: Registry) -> Facility:
    return registry.facility(HOSPITAL)


def test_ward_occupancy_high_large_and_small_wards(tmp_path: Path, hospital: Facility) -> None:
    n = 40
    start = 5  # occupancy rises at minute 5
    wards = [
        ("cardiology", 60, [50] * start + [57] * (n - start), 57 / 60),  # 95% of 60: fires
        ("small-a", 8, [5] * start + [7] * (n - start), 7 / 8),  # 1 free bed of 8: fires
        ("medium", 100, [80] * start + [89] * (n - start), None),  # 89%: never
        ("small-b", 8, [5] * n, None),  # 3 free: never
    ]
    inputs = [info(hospital)]
    expected = []
    for ward, staffed, occupied, ratio in wards:
        labels = {"facility": HOSPITAL, "ward": ward}
        inputs += [series(c.BEDS_STAFFED, labels, [staffed] * n), series(c.BEDS_OCCUPIED, labels, occupied)]
        if ratio is not None:
            alert_labels = {**names(hospital), "ward": ward, "job": "medalliance-worker"}
            expected.append(expected_alert("WardOccupancyHigh", alert_labels, ratio))
    check(tmp_path, inputs, boundary("WardOccupancyHigh", start, 15, expected))


def test_facility_over_capacity(tmp_path: Path, hospital: Facility) -> None:
    n, start = 40, 5
    inputs = [info(hospital)]
    for ward, occupied in (("cardiology", [40] * start + [55] * (n - start)), ("neurology", [50] * n)):
        labels = {"facility": HOSPITAL, "ward": ward}
        inputs += [series(c.BEDS_STAFFED, labels, [50] * n), series(c.BEDS_OCCUPIED, labels, occupied)]
    alert = expected_alert("FacilityOverCapacity", names(hospital), (55 + 50) / 100)
    check(tmp_path, inputs, boundary("FacilityOverCapacity", start, 15, [alert]))


def test_county_bed_runway_short(tmp_path: Path, hospital: Facility) -> None:
    # Occupancy climbs 0.05 percentage points a minute from 70.03%: a straight line, so the fitted
    # trend is exact: rise 0.03 per hour; hours to 95% = (0.95 - r) / 0.03 drops below 4 once r > 0.83,
    # i.e. after minute 259.4 -> first at minute 260.
    n = 300
    staffed = 1000
    occupied = [700.3 + 0.5 * minute for minute in range(n)]
    labels = {"facility": HOSPITAL, "ward": "general-medicine"}
    inputs = [series(c.BEDS_STAFFED, labels, [staffed] * n), series(c.BEDS_OCCUPIED, labels, occupied)]
    at = 260 + 15
    runway = (0.95 - occupied[at] / staffed) / 0.03
    alert = expected_alert("CountyBedRunwayShort", {}, runway)
    check(tmp_path, inputs, boundary("CountyBedRunwayShort", 260, 15, [alert]))


def test_ed_surge_against_floor_and_same_hour_yesterday(tmp_path: Path, registry: Registry) -> None:
    day = 24 * 60
    start = day + 10  # both facilities jump to 30 arrivals/hour a day and 10 minutes in
    n = start + 30
    quiet, busy = registry.facility(HOSPITAL), registry.facility(TOWN)
    inputs = [info(quiet, n), info(busy, n)]
    # quiet: 5/h yesterday -> threshold max(2 x 5, floor 20) = 20 -> 30 is a surge.
    # busy: 20/h yesterday -> threshold max(2 x 20, 20) = 40 -> 30 is not a surge.
    for facility, usual in ((quiet, 5), (busy, 20)):
        values = [usual] * start + [30] * (n - start)
        inputs.append(series(c.ED_ARRIVALS_LAST_HOUR, {"facility": facility.id}, values))
    alert = expected_alert("EDSurge", names(quiet), 30)
    # A day of minutes: evaluate only the ED rules and the alerts (the others do not read these series).
    check(tmp_path, inputs, boundary("EDSurge", start, 10, [alert]), {"medalliance.ed", "medalliance.alerts"})


def test_ed_surge_floor_while_history_is_short(tmp_path: Path, hospital: Facility) -> None:
    n, start = 40, 5
    inputs = [info(hospital)]
    # No history a day or a week back: only the floor (20/h) applies; 20 itself is not above it.
    values = [20] * start + [21] * (n - start)
    inputs.append(series(c.ED_ARRIVALS_LAST_HOUR, {"facility": HOSPITAL}, values))
    check(tmp_path, inputs, boundary("EDSurge", start, 10, [expected_alert("EDSurge", names(hospital), 21)]))


def test_ed_over_capacity(tmp_path: Path, hospital: Facility) -> None:
    n, start = 40, 5
    beds = hospital.ed_beds
    inputs = [info(hospital), series(c.ED_BEDS, {"facility": HOSPITAL}, [beds] * n)]
    level_3 = [10] * start + [beds] * (n - start)
    level_4 = [5] * start + [6] * (n - start)
    for level, values in (("3", level_3), ("4", level_4)):
        inputs.append(series(c.ED_PATIENTS, {"facility": HOSPITAL, "triage_level": level}, values))
    alert = expected_alert("EDOverCapacity", names(hospital), (beds + 6) / beds)
    check(tmp_path, inputs, boundary("EDOverCapacity", start, 15, [alert]))


def test_ed_long_stays(tmp_path: Path, hospital: Facility) -> None:
    n, start = 40, 5
    inputs = [info(hospital)]
    for partition, values in (("0", [0] * start + [2] * (n - start)), ("3", [0] * start + [1] * (n - start))):
        inputs.append(series(c.ED_LONG_STAY, {"facility": HOSPITAL, "partition": partition}, values))
    check(
        tmp_path,
        inputs,
        boundary("EDLongStays", start, 15, [expected_alert("EDLongStays", names(hospital), 3)]),
    )


def test_lwbs_over_two_hours(tmp_path: Path, hospital: Facility) -> None:
    # One discharge a minute; at minute 150 twenty patients are counted as left without being seen.
    # Over the 2 h window (121 samples a minute apart, no extrapolation): 120 discharges, 20 LWBS.
    n, jump = 200, 150
    discharged = [1000 + minute for minute in range(n)]
    lwbs = [1000] * jump + [1020] * (n - jump)
    inputs = [info(hospital)]
    for disposition, values in (("discharged", discharged), ("left_without_being_seen", lwbs)):
        inputs.append(series(c.ED_DEPARTURES, {"facility": HOSPITAL, "disposition": disposition}, values))
    alert = expected_alert("EDLeftWithoutBeingSeenHigh", names(hospital), 20 / (120 + 20))
    check(tmp_path, inputs, boundary("EDLeftWithoutBeingSeenHigh", jump, 15, [alert]))


@pytest.mark.parametrize(
    ("alertname", "spec", "for_minutes"),
    [
        ("RequestDueSoon", c.REQUESTS_DUE_SOON, 0),
        ("RequestOverdue", c.REQUESTS_OVERDUE, 1),
    ],
)
def test_request_deadlines_per_category_stage_destination(
    tmp_path: Path,
    hospital: Facility,
    alertname: str,
    spec: c.MetricSpec,
    for_minutes: int,
) -> None:
    n, start = 20, 3
    inputs = [info(hospital)]
    # Two partitions each hold one stroke request to the hospital: the alert counts 2.
    for partition in ("1", "6"):
        labels = {"category": "stroke", "stage": "accepted", "to_facility": HOSPITAL, "partition": partition}
        inputs.append(series(spec, labels, [0] * start + [1] * (n - start)))
    other = {"category": "trauma", "stage": "arrived", "to_facility": HOSPITAL, "partition": "2"}
    inputs.append(series(spec, other, [0] * n))
    labels = {**names(hospital), "category": "stroke", "stage": "accepted", "to_facility": HOSPITAL}
    check(tmp_path, inputs, boundary(alertname, start, for_minutes, [expected_alert(alertname, labels, 2)]))
