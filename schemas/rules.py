"""Names of the recording rules and the worker's scrape job: part of the metrics contract, read by
the rule generator (dashboards/alerts/recording.py), the dashboards and the wall.

    >>> from schemas.rules import ESCALATION_LEVEL_FACILITY
    >>> ESCALATION_LEVEL_FACILITY
    'medalliance:escalation_level:facility'

Fixed names (others rely on them): escalation levels, occupancy ratios, bed runway.
The form is level:metric:operation as in the Prometheus naming practice.
"""

from __future__ import annotations

from typing import Final

# Fixed by the common brief: dashboards and the wall read these.
ESCALATION_LEVEL_FACILITY: Final = "medalliance:escalation_level:facility"
ESCALATION_LEVEL_ALLIANCE: Final = "medalliance:escalation_level:alliance"
OCCUPANCY_RATIO_FACILITY: Final = "medalliance:occupancy_ratio:facility"
OCCUPANCY_RATIO_COUNTY: Final = "medalliance:occupancy_ratio:county"
BED_RUNWAY_HOURS_COUNTY: Final = "medalliance:bed_runway_hours:county"

# Building blocks, also safe to read.
BEDS_STAFFED_WARD: Final = "medalliance:beds_staffed:ward"
BEDS_OCCUPIED_WARD: Final = "medalliance:beds_occupied:ward"
BEDS_FREE_WARD: Final = "medalliance:beds_free:ward"
OCCUPANCY_RATIO_WARD: Final = "medalliance:occupancy_ratio:ward"
BEDS_STAFFED_FACILITY: Final = "medalliance:beds_staffed:facility"
BEDS_OCCUPIED_FACILITY: Final = "medalliance:beds_occupied:facility"
BEDS_STAFFED_COUNTY: Final = "medalliance:beds_staffed:county"
BEDS_OCCUPIED_COUNTY: Final = "medalliance:beds_occupied:county"
ED_PATIENTS_FACILITY: Final = "medalliance:ed_patients:facility"
ED_BEDS_FACILITY: Final = "medalliance:ed_beds:facility"
ED_OCCUPANCY_RATIO_FACILITY: Final = "medalliance:ed_occupancy_ratio:facility"
ED_ARRIVALS_LAST_HOUR_FACILITY: Final = "medalliance:ed_arrivals_last_hour:facility"
ED_ARRIVALS_BASELINE_FACILITY: Final = "medalliance:ed_arrivals_baseline:facility"
ED_LONG_STAY_FACILITY: Final = "medalliance:ed_long_stay_patients:facility"
REQUESTS_OVERDUE_FACILITY: Final = "medalliance:requests_overdue:facility"
REQUESTS_DUE_SOON_FACILITY: Final = "medalliance:requests_due_soon:facility"
FEED_LAST_SEEN_FACILITY_FEED: Final = "medalliance:feed_last_seen_timestamp_seconds:facility_feed"
# The one staleness rule (pager, dashboards and wall read it): seconds since the last event of each
# (facility, feed) silent past the policy's age for its level while the facility is open; a
# registry facility never heard from at all is feed="all" with +Inf.
FEED_STALE_SECONDS_FACILITY_FEED: Final = "medalliance:feed_stale_seconds:facility_feed"
NEVER_SEEN_FEED: Final = "all"
FACILITY_OPEN_FACILITY: Final = "medalliance:facility_open:facility"
ESCALATION_INPUT_FACILITY: Final = "medalliance:escalation_input_level:facility"
ESCALATION_INPUT_ALLIANCE: Final = "medalliance:escalation_input_level:alliance"

# The five centers (docs/centers.md): per (category, interval = a standard's id, facility = the center).
CASE_CLOCKS_DUE_SOON_FACILITY: Final = "medalliance:case_clocks_due_soon:facility"
CASE_CLOCKS_OVERDUE_FACILITY: Final = "medalliance:case_clocks_overdue:facility"
CASE_COMPLIANCE_FACILITY: Final = "medalliance:case_interval_compliance:facility"  # over the policy's window
CASE_BREACHES_FACILITY: Final = "medalliance:case_interval_breaches:facility"  # over the policy's window
CASE_COMPLIANCE_TARGET: Final = "medalliance:case_interval_target:interval"  # the policy's, static
CASE_STANDARD_SECONDS: Final = "medalliance:case_interval_standard_seconds:interval"  # the policy's, static
CASE_BYPASS_SHARE_FACILITY: Final = "medalliance:case_bypass_share:facility"  # over the policy's window
CASE_BYPASS_TARGET: Final = "medalliance:case_bypass_target:standard"  # the policy's, static

# Two-way referral and the alliance's indicators (docs/referrals.md, docs/indicators.md).
REFERRALS_PENDING_FACILITY_WARD: Final = "medalliance:referrals_pending:facility_ward"
REFERRALS_EXPIRED_FACILITY: Final = "medalliance:referrals_expired:facility"
# 基层诊疗量占比 (alliance-only proxy): primary-level visits / all visits of the alliance's facilities.
PRIMARY_CARE_SHARE_TODAY: Final = "medalliance:primary_care_visit_share:today"
PRIMARY_CARE_SHARE_MONTH: Final = "medalliance:primary_care_visit_share:month"
PRIMARY_CARE_SHARE_TARGET: Final = "medalliance:primary_care_visit_share_target:policy"  # static
# The same share over the last 24 hours (increase of the visit counters): the indicator over time,
# without the midnight and month-start resets of the two above.
PRIMARY_CARE_SHARE_TRAILING_DAY: Final = "medalliance:primary_care_visit_share:increase1d"

# Always 1, labelled `policy_hash`: the policy the rules were generated from (schemas/policy.py).
RULES_POLICY_INFO: Final = "medalliance:policy_info:rules"
POLICY_HASH_LABEL: Final = "policy_hash"

# The scrape job of the workers (deploy/prometheus/prometheus.yml); `up{job=...}` is Prometheus's own.
WORKER_JOB: Final = "medalliance-worker"
