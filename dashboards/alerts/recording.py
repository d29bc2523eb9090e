"""Recording rules: the per-facility and county figures alerts, dashboards and the wall share.

    >>> groups = recording_groups(PRODUCTION)
    >>> [rule.record for rule in groups["medalliance.escalation"]][-1]
    'medalliance:escalation_level:alliance'

Sharded metrics are summed `without (instance, partition)` once, here; everything else reads
the recorded series. Every expression is built from the metric catalog (dashboards/promql.py).
"""

from __future__ import annotations

from typing import Final

from dashboards.alerts import names as n
from dashboards.alerts.model import RecordingRule
from dashboards.alerts.profile import DAY, HOUR, Profile
from dashboards.promql import registry_max, sharded_max, sharded_sum
from streams.metrics import catalog as c

# Hours until the county reaches this occupancy: 95% is where admissions start to stall.
RUNWAY_TARGET_RATIO: Final = 0.95
# The trend behind the runway: an hour smooths single admissions, still sees a morning surge.
RUNWAY_TREND_WINDOW: Final = HOUR
# Same hour of day yesterday and last week: ED arrivals follow a daily and a weekly rhythm.
BASELINE_OFFSETS: Final = (DAY, 7 * DAY)
COUNTY_HOSPITAL: Final = "county_hospital"

# Escalation (OPEL-style) thresholds: (level 2 from, level 3 from, level 4 above); docs/escalation.md.
OCCUPANCY_STEPS: Final = (0.85, 0.90, 1.00)  # DOMAIN.md: risk > 85%, crises at 90%, corridor beds > 100%
ED_OCCUPANCY_STEPS: Final = (0.80, 1.00, 1.20)  # patients per ED bed; > 1 means trolleys in corridors
OVERDUE_LEVEL_4_COUNT: Final = 3  # three or more overdue high-risk requests at one hospital
# The alliance is at level L when this many county hospitals are (or all of them, if fewer).
HOSPITALS_FOR_ALLIANCE_LEVEL: Final = 2


def _steps(expr: str, steps: tuple[float, float, float]) -> str:
    """1 + one per threshold passed: 1..4 (the last step is strict: 'above 100%')."""
    low, mid, high = steps
    return f"1 + ({expr} >= bool {low}) + ({expr} >= bool {mid}) + ({expr} > bool {high})"


def _to_facility(expr: str) -> str:
    """Requests are per destination: call `to_facility` `facility` so they join like the rest."""
    return f'label_replace({expr}, "facility", "$1", "to_facility", "(.*)")'


def bed_rules(profile: Profile) -> list[RecordingRule]:
    trend = f"{n.OCCUPANCY_RATIO_COUNTY}[{profile.window(RUNWAY_TREND_WINDOW)}]"
    fitted_now = f"predict_linear({trend}, 0)"
    rise_per_hour = f"(predict_linear({trend}, {HOUR}) - {fitted_now})"
    return [
        RecordingRule(n.BEDS_STAFFED_WARD, sharded_sum(c.BEDS_STAFFED)),
        RecordingRule(n.BEDS_OCCUPIED_WARD, sharded_sum(c.BEDS_OCCUPIED)),
        RecordingRule(n.BEDS_FREE_WARD, f"clamp_min({n.BEDS_STAFFED_WARD} - {n.BEDS_OCCUPIED_WARD}, 0)"),
        RecordingRule(n.OCCUPANCY_RATIO_WARD, f"{n.BEDS_OCCUPIED_WARD} / ({n.BEDS_STAFFED_WARD} > 0)"),
        RecordingRule(n.BEDS_STAFFED_FACILITY, f"sum by (facility) ({n.BEDS_STAFFED_WARD})"),
        RecordingRule(n.BEDS_OCCUPIED_FACILITY, f"sum by (facility) ({n.BEDS_OCCUPIED_WARD})"),
        RecordingRule(
            n.OCCUPANCY_RATIO_FACILITY, f"{n.BEDS_OCCUPIED_FACILITY} / ({n.BEDS_STAFFED_FACILITY} > 0)"
        ),
        RecordingRule(n.BEDS_STAFFED_COUNTY, f"sum({n.BEDS_STAFFED_FACILITY})"),
        RecordingRule(n.BEDS_OCCUPIED_COUNTY, f"sum({n.BEDS_OCCUPIED_FACILITY})"),
        RecordingRule(n.OCCUPANCY_RATIO_COUNTY, f"{n.BEDS_OCCUPIED_COUNTY} / ({n.BEDS_STAFFED_COUNTY} > 0)"),
        # Hours for the fitted trend to reach the target; absent while flat or falling, 0 once past it.
        RecordingRule(
            n.BED_RUNWAY_HOURS_COUNTY,
            f"clamp_min(({RUNWAY_TARGET_RATIO} - {fitted_now}) / ({rise_per_hour} > 0), 0)",
        ),
    ]


def ed_rules(profile: Profile) -> list[RecordingRule]:
    arrivals = n.ED_ARRIVALS_LAST_HOUR_FACILITY
    # Each look-back keeps its own series (label `lookback`) so max() sees both, not whichever `or` kept.
    lookbacks = " or ".join(
        f'label_replace({arrivals} offset {profile.window(offset)}, "lookback", "{offset // DAY}d", "", "")'
        for offset in BASELINE_OFFSETS
    )
    return [
        RecordingRule(n.ED_PATIENTS_FACILITY, sharded_sum(c.ED_PATIENTS, by=("facility",))),
        RecordingRule(n.ED_BEDS_FACILITY, registry_max(c.ED_BEDS, by=("facility",))),
        RecordingRule(
            n.ED_OCCUPANCY_RATIO_FACILITY, f"{n.ED_PATIENTS_FACILITY} / ({n.ED_BEDS_FACILITY} > 0)"
        ),
        RecordingRule(arrivals, sharded_sum(c.ED_ARRIVALS_LAST_HOUR, by=("facility",))),
        RecordingRule(n.ED_ARRIVALS_BASELINE_FACILITY, f"max by (facility) ({lookbacks})"),
        RecordingRule(n.ED_LONG_STAY_FACILITY, sharded_sum(c.ED_LONG_STAY, by=("facility",))),
    ]


def flow_rules() -> list[RecordingRule]:
    return [
        RecordingRule(
            n.REQUESTS_OVERDUE_FACILITY,
            f"sum by (facility) ({_to_facility(sharded_sum(c.REQUESTS_OVERDUE))})",
        ),
        RecordingRule(
            n.REQUESTS_DUE_SOON_FACILITY,
            f"sum by (facility) ({_to_facility(sharded_sum(c.REQUESTS_DUE_SOON))})",
        ),
        RecordingRule(n.FEED_LAST_SEEN_FACILITY_FEED, sharded_max(c.FEED_LAST_SEEN)),
        RecordingRule(n.FACILITY_OPEN_FACILITY, registry_max(c.FACILITY_OPEN, by=("facility",))),
    ]


def escalation_rules() -> list[RecordingRule]:
    """OPEL-style levels 1-4: per county hospital the worst of its inputs; see docs/escalation.md."""
    county = registry_max(c.FACILITY_INFO, f'level="{COUNTY_HOSPITAL}"', by=("facility",))

    def per_hospital(level_expr: str, name: str) -> RecordingRule:
        # A hospital with no data for an input is at level 1 for it (absent means 0 in EVENTS.md).
        return RecordingRule(
            n.ESCALATION_INPUT_FACILITY,
            f"(({level_expr}) and on (facility) {county}) or on (facility) {county}",
            (("input", name),),
        )

    overdue, due_soon = n.REQUESTS_OVERDUE_FACILITY, n.REQUESTS_DUE_SOON_FACILITY
    levels = n.ESCALATION_LEVEL_FACILITY
    enough = f"clamp_max(count({levels}), {HOSPITALS_FOR_ALLIANCE_LEVEL})"
    hospitals = [
        RecordingRule(
            n.ESCALATION_INPUT_ALLIANCE,
            f"{level} * (count({levels} >= {level}) >= bool {enough})",
            (("input", f"hospitals_at_{level}"),),
        )
        for level in (2, 3, 4)
    ]
    return [
        per_hospital(_steps(n.OCCUPANCY_RATIO_FACILITY, OCCUPANCY_STEPS), "occupancy"),
        per_hospital(_steps(n.ED_OCCUPANCY_RATIO_FACILITY, ED_OCCUPANCY_STEPS), "ed"),
        per_hospital(f"1 + ({due_soon} >= bool 1)", "requests_due_soon"),
        per_hospital(
            f"1 + 2 * ({overdue} >= bool 1) + ({overdue} >= bool {OVERDUE_LEVEL_4_COUNT})", "requests_overdue"
        ),
        RecordingRule(levels, f"max by (facility) ({n.ESCALATION_INPUT_FACILITY})"),
        RecordingRule(
            n.ESCALATION_INPUT_ALLIANCE,
            f"({_steps(n.OCCUPANCY_RATIO_COUNTY, OCCUPANCY_STEPS)}) or vector(1)",
            (("input", "occupancy"),),
        ),
        *hospitals,
        RecordingRule(n.ESCALATION_LEVEL_ALLIANCE, f"max({n.ESCALATION_INPUT_ALLIANCE})"),
    ]


def recording_groups(profile: Profile) -> dict[str, list[RecordingRule]]:
    """Rule groups in evaluation order (escalation reads the others)."""
    return {
        "medalliance.beds": bed_rules(profile),
        "medalliance.ed": ed_rules(profile),
        "medalliance.flow": flow_rules(),
        "medalliance.escalation": escalation_rules(),
    }
