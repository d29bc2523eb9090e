"""Series shared by the referral and indicator promtool tests: the facilities they use and visits
per level with their primary-care shares worked out by hand.

    >>> rows = visit_inputs(load_registry(), minutes=30)
"""

from __future__ import annotations

from schemas import metrics as c
from schemas.registry import Registry
from tests.dashboards.alert_series import info, series

HOSPITAL = "yx-ch-people"  # county_hospital
TOWN = "yx-thc-zhigong"  # town_health_center: primary level
CLINIC = "yx-vc-zhigong-01"  # village_clinic: primary level
OUTSIDE = "external_out_of_county"
JOB = "medalliance-worker"


# Visits per (facility, kind, partition): today, month to date, and the counter's rise per minute.
TODAY = {(HOSPITAL, "outpatient", "0"): 30, (HOSPITAL, "emergency", "1"): 10, (TOWN, "outpatient", "2"): 25,
         (CLINIC, "outpatient", "3"): 15, (CLINIC, "outpatient", "4"): 5}  # fmt: skip
MONTH = {(HOSPITAL, "outpatient", "0"): 300, (HOSPITAL, "emergency", "1"): 100,
         (TOWN, "outpatient", "2"): 250, (CLINIC, "outpatient", "3"): 150,
         (CLINIC, "outpatient", "4"): 150}  # fmt: skip
PER_MINUTE = {(HOSPITAL, "outpatient", "0"): 2, (HOSPITAL, "emergency", "1"): 1, (TOWN, "outpatient", "2"): 1,
              (CLINIC, "outpatient", "3"): 1}  # fmt: skip
# Primary: town + clinic. Today 45 of 85; month 550 of 950; per minute 2 of 5 (any window: 40%).
SHARE_TODAY, SHARE_MONTH, SHARE_DAY = 45 / 85, 550 / 950, 2 / 5


def visit_inputs(registry: Registry, minutes: int) -> list[dict[str, str]]:
    inputs = [info(registry.facility(f), minutes=minutes) for f in (HOSPITAL, TOWN, CLINIC)]
    for (facility, kind, partition), value in TODAY.items():
        labels = {"facility": facility, "kind": kind, "partition": partition}
        inputs.append(series(c.VISITS_TODAY, labels, [value] * minutes))
        inputs.append(series(c.VISITS_MONTH, labels, [MONTH[(facility, kind, partition)]] * minutes))
    for (facility, kind, partition), rise in PER_MINUTE.items():
        labels = {"facility": facility, "kind": kind, "partition": partition}
        inputs.append(series(c.VISITS, labels, [rise * minute for minute in range(minutes)]))
    return inputs
