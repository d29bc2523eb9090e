"""The PromQL behind the wall page, built from the metric catalog (never a metric name by hand).

    >>> WALL_QUERIES["county_staffed"]
    'sum by () (medalliance_beds_staffed)'

Each query is instant; the wall asks all of them at one evaluation time so the numbers of a
refresh belong together. The recording-rule names are those fixed by the alerting rules
(dashboards/alerts/names.py): absent rules simply give an empty result ("no data" on the page).
"""

from __future__ import annotations

from typing import Final

from dashboards.alerts.names import (
    BED_RUNWAY_HOURS_COUNTY,
    ESCALATION_LEVEL_ALLIANCE,
    ESCALATION_LEVEL_FACILITY,
    WORKER_JOB,
)
from dashboards.promql import registry_max, selector, sharded_max, sharded_sum
from streams.metrics.catalog import (
    BEDS_OCCUPIED,
    BEDS_STAFFED,
    ED_BEDS,
    ED_LONG_STAY,
    ED_PATIENTS,
    FACILITY_INFO,
    FACILITY_OPEN,
    FEED_LAST_SEEN,
    PARTITIONS_OWNED,
    REQUESTS_DUE_SOON,
    REQUESTS_OVERDUE,
    VISITS_TODAY,
)

# A hospital feed (or an open clinic's) silent for longer than this is stale: heartbeats come at
# least every 60 s, so five missed heartbeats is a broken feed, not a quiet night.
STALE_FEED_SECONDS: Final = 300
COUNTY: Final[tuple[str, ...]] = ()


def stale_feeds_query(threshold_seconds: int = STALE_FEED_SECONDS) -> str:
    """Feeds of open facilities whose latest event or heartbeat is older than the threshold.

    The value is the age in seconds; facilities that are closed (clinics out of hours) never count.
    """
    age = f"time() - {sharded_max(FEED_LAST_SEEN, by=('facility', 'feed'))}"
    is_open = f"{registry_max(FACILITY_OPEN, by=('facility',))} == 1"
    return f"({age}) > {threshold_seconds} and on (facility) ({is_open})"


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
    "stale_feeds": stale_feeds_query(),
    "partitions_reported": partitions_reported_query(),
    # Prometheus's own scrape health of the worker job (a banner names the worker it cannot reach).
    "targets_down": f'up{{job="{WORKER_JOB}"}} == 0',
    "escalation_facility": ESCALATION_LEVEL_FACILITY,
    "escalation_alliance": ESCALATION_LEVEL_ALLIANCE,
    "bed_runway_hours": BED_RUNWAY_HOURS_COUNTY,
}
