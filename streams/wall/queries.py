"""The PromQL behind the wall page, built from the metrics contract (never a metric name by hand).

    >>> WALL_QUERIES["county_staffed"]
    'sum by () (medalliance_beds_staffed)'

Each query is instant; the wall asks all of them at one evaluation time so the numbers of a
refresh belong together. Recording rules (schemas/rules.py) carry what the pager judges too: the
one staleness rule and the escalation levels. Without the rules those answers would be empty and a
silent feed would look live, so the wall also reads the rules' policy hash and raises a banner when
it is missing or is not the policy the wall runs (streams/wall/banners.py).
"""

from __future__ import annotations

from typing import Final

from schemas.metrics import (
    BEDS_OCCUPIED,
    BEDS_STAFFED,
    ED_BEDS,
    ED_LONG_STAY,
    ED_PATIENTS,
    FACILITY_INFO,
    FACILITY_OPEN,
    FEED_LAST_SEEN,
    PARTITIONS_OWNED,
    REFERRALS_EXPIRED,
    REFERRALS_MONTH,
    REFERRALS_TODAY,
    REQUESTS_DUE_SOON,
    REQUESTS_OVERDUE,
    VISITS_TODAY,
)
from schemas.promql import registry_max, selector, sharded_max, sharded_sum
from schemas.rules import (
    BED_RUNWAY_HOURS_COUNTY,
    BEDS_FREE_WARD,
    CASE_BREACHES_FACILITY,
    CASE_COMPLIANCE_FACILITY,
    CASE_COMPLIANCE_TARGET,
    ESCALATION_LEVEL_ALLIANCE,
    ESCALATION_LEVEL_FACILITY,
    FEED_STALE_SECONDS_FACILITY_FEED,
    PRIMARY_CARE_SHARE_MONTH,
    PRIMARY_CARE_SHARE_TODAY,
    REFERRALS_PENDING_FACILITY_WARD,
    RULES_POLICY_INFO,
    WORKER_JOB,
)

COUNTY: Final[tuple[str, ...]] = ()


def partitions_reported_query() -> str:
    """Source partitions owned by a worker that Prometheus scrapes now, per feed (sum over workers)."""
    return f"sum by (feed) ({selector(PARTITIONS_OWNED)})"


WALL_QUERIES: Final[dict[str, str]] = {
    "facility_info": registry_max(FACILITY_INFO, by=("facility", "name", "name_en", "level", "township")),
    "facility_open": registry_max(FACILITY_OPEN, by=("facility",)),
    "county_staffed": sharded_sum(BEDS_STAFFED, by=COUNTY),
    "county_occupied": sharded_sum(BEDS_OCCUPIED, by=COUNTY),
    "facility_staffed": sharded_sum(BEDS_STAFFED, by=("facility",)),
    "facility_occupied": sharded_sum(BEDS_OCCUPIED, by=("facility",)),
    "visits_today": sharded_sum(VISITS_TODAY, by=("kind",)),
    "ed_patients": sharded_sum(ED_PATIENTS, by=("triage_level",)),
    "ed_long_stay": sharded_sum(ED_LONG_STAY, by=COUNTY),
    "ed_beds": f"sum by () ({registry_max(ED_BEDS)})",
    "requests_overdue": sharded_sum(REQUESTS_OVERDUE, by=("stage",)),
    "requests_due_soon": sharded_sum(REQUESTS_DUE_SOON, by=("stage",)),
    "feed_last_seen": sharded_max(FEED_LAST_SEEN, by=("facility", "feed")),
    "stale_feeds": FEED_STALE_SECONDS_FACILITY_FEED,
    "rules_policy": RULES_POLICY_INFO,
    "partitions_reported": partitions_reported_query(),
    # Prometheus's own scrape health of the worker job (a banner names the worker it cannot reach).
    "targets_down": f'up{{job="{WORKER_JOB}"}} == 0',
    "escalation_facility": ESCALATION_LEVEL_FACILITY,
    "escalation_alliance": ESCALATION_LEVEL_ALLIANCE,
    "bed_runway_hours": BED_RUNWAY_HOURS_COUNTY,
    # The five centers over the policy's window (30 days): within standard, target, breaches.
    "case_compliance": CASE_COMPLIANCE_FACILITY,
    "case_target": CASE_COMPLIANCE_TARGET,
    "case_breaches": CASE_BREACHES_FACILITY,
    # Two-way referral: the flow today and this month, pending at each receiving ward beside its free beds.
    "referrals_today": sharded_sum(REFERRALS_TODAY, by=("direction",)),
    "referrals_month": sharded_sum(REFERRALS_MONTH, by=("direction",)),
    "referrals_pending": REFERRALS_PENDING_FACILITY_WARD,
    "referrals_expired": sharded_sum(REFERRALS_EXPIRED, by=("facility", "ward")),
    "ward_free_beds": BEDS_FREE_WARD,
    # 基层诊疗量占比 (the alliance's facilities only: a proxy of the county's figure).
    "primary_share_today": PRIMARY_CARE_SHARE_TODAY,
    "primary_share_month": PRIMARY_CARE_SHARE_MONTH,
}
