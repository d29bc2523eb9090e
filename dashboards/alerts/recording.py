"""Recording rules: the per-facility and county figures alerts, dashboards and the wall share.

    >>> groups = recording_groups(PRODUCTION, shipped_policy())
    >>> [rule.record for rule in groups["medalliance.escalation"]][-1]
    'medalliance:escalation_level:alliance'

Sharded metrics are summed `without (instance, partition)` once, here; everything else reads
the recorded series. Every expression is built from the metric catalog (schemas/promql.py).
"""

from __future__ import annotations

from typing import Final

from dashboards.alerts.centers import WINDOW_GROUP_SECONDS, center_groups
from dashboards.alerts.model import RecordingRule
from dashboards.alerts.profile import DAY, HOUR, Profile
from dashboards.alerts.referrals import referral_groups
from schemas import metrics as c
from schemas import rules as n
from schemas.policy import Policy, Steps
from schemas.promql import registry_max, sharded_max, sharded_sum

COUNTY_HOSPITAL: Final = "county_hospital"


def _steps(expr: str, steps: Steps) -> str:
    """1 + one per threshold passed: 1..4 (the last step is strict: 'above 100%')."""
    low, mid, high = steps.values()
    return f"1 + ({expr} >= bool {low}) + ({expr} >= bool {mid}) + ({expr} > bool {high})"


def _to_facility(expr: str) -> str:
    """Requests are per destination: call `to_facility` `facility` so they join like the rest."""
    return f'label_replace({expr}, "facility", "$1", "to_facility", "(.*)")'


def bed_rules(profile: Profile, policy: Policy) -> list[RecordingRule]:
    occupancy = policy.occupancy
    trend = f"{n.OCCUPANCY_RATIO_COUNTY}[{profile.window(occupancy.runway_trend_seconds)}]"
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
            f"clamp_min(({occupancy.runway_target} - {fitted_now}) / ({rise_per_hour} > 0), 0)",
        ),
    ]


def ed_rules(profile: Profile, policy: Policy) -> list[RecordingRule]:
    arrivals = n.ED_ARRIVALS_LAST_HOUR_FACILITY
    # Each look-back keeps its own series (label `lookback`) so max() sees both, not whichever `or` kept.
    lookbacks = " or ".join(
        f'label_replace({arrivals} offset {profile.window(days * DAY)}, "lookback", "{days}d", "", "")'
        for days in policy.emergency.surge_lookback_days
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


def stale_feeds(profile: Profile, policy: Policy) -> str:
    """The one staleness rule: feeds silent past their level's age, and facilities never heard from,
    while the facility is expected to publish (a village clinic only once open for the grace)."""
    last_seen = n.FEED_LAST_SEEN_FACILITY_FEED
    ages = policy.feeds.stale_seconds
    if len(set(ages.values())) == 1:
        limit = str(next(iter(ages.values())))
    else:
        per_level = " or ".join(
            f"(0 * {_facilities(_level(level))} + {seconds})" for level, seconds in ages.items()
        )
        limit = f"on (facility) group_left () ({per_level})"
    silent = f"(time() - {last_seen}) > {limit}"
    unheard = f"{_facilities()} unless on (facility) {last_seen}"
    never = f'label_replace({unheard}, "feed", "{n.NEVER_SEEN_FEED}", "", "") * +Inf'
    grace = profile.window(policy.feeds.clinic_open_grace_seconds)
    # Hospitals are always open, so the grace gates clinics only: a clinic's system starts with its staff.
    is_open = f"min_over_time({n.FACILITY_OPEN_FACILITY}[{grace}]) == 1"
    return f"(({silent}) or ({never})) and on (facility) ({is_open})"


def _level(level: str) -> str:
    return f'level="{level}"'


def _facilities(level_matcher: str = "") -> str:
    return registry_max(c.FACILITY_INFO, level_matcher, by=("facility",))


def flow_rules(profile: Profile, policy: Policy) -> list[RecordingRule]:
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
        # After the two it reads: rules of a group are evaluated in order, each seeing the ones before.
        RecordingRule(n.FEED_STALE_SECONDS_FACILITY_FEED, stale_feeds(profile, policy)),
    ]


def policy_rules(policy: Policy) -> list[RecordingRule]:
    """The policy these rules come from, for the PolicyMismatch alert and the wall to compare."""
    return [RecordingRule(n.RULES_POLICY_INFO, "vector(1)", ((n.POLICY_HASH_LABEL, policy.hash),))]


def escalation_rules(policy: Policy) -> list[RecordingRule]:
    """OPEL-style levels 1-4: per county hospital the worst of its inputs; see docs/escalation.md."""
    county = _facilities(_level(COUNTY_HOSPITAL))

    def per_hospital(level_expr: str, name: str) -> RecordingRule:
        # A hospital with no data for an input is at level 1 for it (absent means 0 in EVENTS.md).
        return RecordingRule(
            n.ESCALATION_INPUT_FACILITY,
            f"(({level_expr}) and on (facility) {county}) or on (facility) {county}",
            (("input", name),),
        )

    overdue, due_soon = n.REQUESTS_OVERDUE_FACILITY, n.REQUESTS_DUE_SOON_FACILITY
    levels = n.ESCALATION_LEVEL_FACILITY
    enough = f"clamp_max(count({levels}), {policy.escalation.hospitals_for_alliance})"
    hospitals = [
        RecordingRule(
            n.ESCALATION_INPUT_ALLIANCE,
            f"{level} * (count({levels} >= {level}) >= bool {enough})",
            (("input", f"hospitals_at_{level}"),),
        )
        for level in (2, 3, 4)
    ]
    return [
        per_hospital(_steps(n.OCCUPANCY_RATIO_FACILITY, policy.occupancy.escalation), "occupancy"),
        per_hospital(_steps(n.ED_OCCUPANCY_RATIO_FACILITY, policy.emergency.escalation), "ed"),
        per_hospital(f"1 + ({due_soon} >= bool 1)", "requests_due_soon"),
        per_hospital(
            f"1 + 2 * ({overdue} >= bool 1) + ({overdue} >= bool {policy.requests.escalation_overdue})",
            "requests_overdue",
        ),
        RecordingRule(levels, f"max by (facility) ({n.ESCALATION_INPUT_FACILITY})"),
        RecordingRule(
            n.ESCALATION_INPUT_ALLIANCE,
            f"({_steps(n.OCCUPANCY_RATIO_COUNTY, policy.occupancy.escalation)}) or vector(1)",
            (("input", "occupancy"),),
        ),
        *hospitals,
        RecordingRule(n.ESCALATION_LEVEL_ALLIANCE, f"max({n.ESCALATION_INPUT_ALLIANCE})"),
    ]


def recording_groups(profile: Profile, policy: Policy) -> dict[str, list[RecordingRule]]:
    """Rule groups in evaluation order (escalation reads the others)."""
    return {
        "medalliance.beds": bed_rules(profile, policy),
        "medalliance.ed": ed_rules(profile, policy),
        "medalliance.flow": flow_rules(profile, policy),
        "medalliance.escalation": escalation_rules(policy),
        **center_groups(profile, policy),
        **referral_groups(profile, policy),
        "medalliance.policy": policy_rules(policy),
    }


# Groups evaluated less often than every scrape (seconds, scaled by the profile): see their module.
GROUP_INTERVALS: Final = {"medalliance.centers.window": WINDOW_GROUP_SECONDS}
