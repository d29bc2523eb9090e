"""The metric catalog: the one place a metric's name, type, labels and help are written.

    >>> from schemas.metrics import BEDS_OCCUPIED
    >>> BEDS_OCCUPIED.name, BEDS_OCCUPIED.labels
    ('medalliance_beds_occupied', ('facility', 'ward', 'partition'))

The collector, the alert rules, the dashboards, the wall and the docs all read it, so a name
cannot drift. `sharded` metrics carry a `partition` label and come from table state of the
partitions a worker owns: aggregate them with `sum without (instance, partition)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

MetricType = Literal["gauge", "counter", "histogram"]
PREFIX: Final = "medalliance_"
SHARD_LABEL: Final = "partition"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    type: MetricType
    labels: tuple[str, ...]
    help: str
    sharded: bool = True
    contract: bool = True  # False: service-health metrics beyond EVENTS.md
    buckets: tuple[float, ...] = ()

    @property
    def series_labels(self) -> tuple[str, ...]:
        """Labels as exported (with `partition` last for sharded metrics)."""
        return (*self.labels, SHARD_LABEL) if self.sharded else self.labels

    @property
    def sample_names(self) -> tuple[str, ...]:
        """Names Prometheus stores for this metric (a counter's `_total`, a histogram's parts)."""
        if self.type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


# Stage times: minutes around the clinical standards (10, 30, 60, 90 min) matter most.
STAGE_BUCKETS: Final = (
    60.0,
    180.0,
    300.0,
    480.0,
    600.0,
    900.0,
    1200.0,
    1800.0,
    2700.0,
    3600.0,
    4800.0,
    5400.0,
    7200.0,
    10800.0,
    21600.0,
)
# Clinical intervals (minute resolution): every standard of schemas/policy.yaml lies on a bound, and a
# site's own standard needs none (the within-standard counter is recorded when an interval ends).
CASE_INTERVAL_BUCKETS: Final = tuple(
    60.0 * minutes for minutes in (5, 10, 15, 20, 30, 45, 60, 75, 90, 105, 120, 180, 270, 360)
)
# Referral stage times: an up-referral is accepted in minutes to hours, a down-referral within a day or two.
REFERRAL_STAGE_BUCKETS: Final = tuple(
    60.0 * minutes for minutes in (5, 10, 15, 30, 60, 120, 240, 480, 720, 1440, 2880)
)
# Pipeline delay: sub-second when healthy, minutes when a publisher buffers, hours after outages.
DELAY_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


def _m(name: str, type_: MetricType, labels: tuple[str, ...], help_: str, **kw: object) -> MetricSpec:
    return MetricSpec(PREFIX + name, type_, labels, help_, **kw)  # type: ignore[arg-type]


FACILITY_INFO = _m(
    "facility_info",
    "gauge",
    ("facility", "name", "name_en", "level", "township"),
    "Always 1: a facility of the registry, with its names, level and township.",
    sharded=False,
)
ED_BEDS = _m(
    "ed_beds", "gauge", ("facility",), "Emergency-department beds of a facility (registry).", sharded=False
)
FACILITY_OPEN = _m(
    "facility_open",
    "gauge",
    ("facility",),
    "1 while a facility is expected to publish (always for hospitals; opening hours for "
    "village clinics), else 0.",
    sharded=False,
    contract=False,
)
BEDS_STAFFED = _m("beds_staffed", "gauge", ("facility", "ward"), "Staffed beds of a ward (latest census).")
BEDS_OCCUPIED = _m(
    "beds_occupied",
    "gauge",
    ("facility", "ward"),
    "Occupied beds of a ward: latest census plus later admissions/transfers.",
)
VISITS = _m("visits_total", "counter", ("facility", "kind"), "Visits registered (outpatient, emergency).")
VISITS_TODAY = _m(
    "visits_today", "gauge", ("facility", "kind"), "Visits whose time falls on today's local date."
)
VISITS_MONTH = _m(
    "visits_month",
    "gauge",
    ("facility", "kind"),
    "Visits whose time falls in the current local month, to date (基层诊疗量占比 month to date).",
)
ED_PATIENTS = _m("ed_patients", "gauge", ("facility", "triage_level"), "Patients in the ED now.")
ED_LONG_STAY = _m(
    "ed_long_stay_patients",
    "gauge",
    ("facility",),
    "Patients in the ED now for longer than the long-stay threshold (event time).",
)
ED_ARRIVALS_LAST_HOUR = _m(
    "ed_arrivals_last_hour",
    "gauge",
    ("facility",),
    "ED arrivals whose occurred_at is within the last 60 minutes.",
)
ED_DEPARTURES = _m("ed_departures_total", "counter", ("facility", "disposition"), "ED departures.")
REQUESTS_OPEN = _m(
    "requests_open",
    "gauge",
    ("category", "stage", "from_facility", "to_facility"),
    "Open high-risk requests by furthest stage reached.",
)
REQUEST_STAGE_SECONDS = _m(
    "request_stage_seconds",
    "histogram",
    ("category", "stage"),
    "Seconds from submission to a stage, one observation per request and stage.",
    buckets=STAGE_BUCKETS,
)
REQUESTS_DUE_SOON = _m(
    "requests_due_soon",
    "gauge",
    ("category", "stage", "to_facility"),
    "Open requests within the last 20% before their time standard for a stage.",
)
REQUESTS_OVERDUE = _m(
    "requests_overdue",
    "gauge",
    ("category", "stage", "to_facility"),
    "Open requests past their time standard for a stage.",
)
CASES_OPEN = _m(
    "cases_open",
    "gauge",
    ("category", "facility"),
    "Open clinical cases of a center (facility: the one whose door counts).",
)
CASE_INTERVAL_SECONDS = _m(
    "case_interval_seconds",
    "histogram",
    ("category", "interval", "facility"),
    "Seconds of a completed clinical interval (a standard of the policy), one observation per case.",
    buckets=CASE_INTERVAL_BUCKETS,
)
CASE_INTERVALS_WITHIN = _m(
    "case_intervals_within_total",
    "counter",
    ("category", "interval", "facility"),
    "Completed clinical intervals within their standard (recorded when the interval completes).",
)
CASE_BYPASS = _m(
    "case_bypass_total",
    "counter",
    ("category", "standard", "facility", "bypassed"),
    "Closed cases a bypass standard counts, by whether they bypassed (bypassed: true or false).",
)
CASE_CLOCKS_DUE_SOON = _m(
    "case_clocks_due_soon",
    "gauge",
    ("category", "interval", "facility"),
    "Running clinical intervals of open cases past the due-soon share of their standard.",
)
CASE_CLOCKS_OVERDUE = _m(
    "case_clocks_overdue",
    "gauge",
    ("category", "interval", "facility"),
    "Running clinical intervals of open cases past their standard.",
)
REFERRALS = _m(
    "referrals_total",
    "counter",
    ("direction", "from_facility", "to_facility"),
    "Referrals requested, once each (direction: up, down, lateral, external; an outside destination's "
    "to_facility is external_in_county or external_out_of_county).",
)
REFERRALS_TODAY = _m(
    "referrals_today",
    "gauge",
    ("direction", "from_facility", "to_facility"),
    "Referrals whose request falls on today's local date.",
)
REFERRALS_MONTH = _m(
    "referrals_month",
    "gauge",
    ("direction", "from_facility", "to_facility"),
    "Referrals whose request falls in the current local month, to date.",
)
REFERRAL_STAGE_SECONDS = _m(
    "referral_stage_seconds",
    "histogram",
    ("direction", "stage"),
    "Seconds from the request to a stage (accepted, arrived), one observation per referral and stage.",
    buckets=REFERRAL_STAGE_BUCKETS,
)
REFERRALS_ENDED = _m(
    "referrals_ended_total",
    "counter",
    ("direction", "outcome"),
    "Referrals ended, once per referral and outcome (returned, closed, rejected, cancelled).",
)
REFERRALS_ACCEPTED_LATE = _m(
    "referrals_accepted_late_total",
    "counter",
    ("direction", "facility"),
    "Referrals accepted after their pending limit (facility: the receiver); they still count as accepted.",
)
REFERRALS_PENDING = _m(
    "referrals_pending",
    "gauge",
    ("facility", "ward"),
    "Referrals requested and not yet accepted, rejected or cancelled, by receiving facility and target "
    "ward (ward empty when not named): join to that ward's free beds.",
)
REFERRALS_EXPIRED = _m(
    "referrals_expired",
    "gauge",
    ("facility", "ward"),
    "Pending referrals past the policy's limit for their direction (evaluated when read).",
)
EVENTS = _m("events_total", "counter", ("feed", "type"), "Accepted events (heartbeats included).")
FACILITY_EVENTS = _m("facility_events_total", "counter", ("facility", "feed"), "Accepted events by facility.")
EVENTS_DUPLICATE = _m("events_duplicate_total", "counter", ("feed",), "Valid events whose event_id was seen.")
EVENTS_REJECTED = _m(
    "events_rejected_total",
    "counter",
    ("feed", "reason", "facility"),
    "Rejected messages (sent to the dead-letter topic).",
)
FEED_LAST_SEEN = _m(
    "feed_last_seen_timestamp_seconds",
    "gauge",
    ("facility", "feed"),
    "Latest occurred_at of an accepted event or heartbeat (unix seconds).",
)
EVENT_DELAY = _m(
    "event_delay_seconds",
    "histogram",
    ("feed",),
    "Processing time minus occurred_at of accepted events.",
    buckets=DELAY_BUCKETS,
)
# Service health (beyond the contract; documented in the README).
CONSUMER_LAG = _m(
    "consumer_lag_messages",
    "gauge",
    ("feed",),
    "Messages of an owned source partition its state has not applied: the fetch high watermark "
    "minus consumer_offset (0 when caught up; absent while consumer_lag_unknown is 1).",
    contract=False,
)
CONSUMER_LAG_UNKNOWN = _m(
    "consumer_lag_unknown",
    "gauge",
    ("feed",),
    "1 while an owned source partition's high watermark is unknown (no fetch answered for it since "
    "it was assigned), so its lag cannot be measured; else 0.",
    contract=False,
)
CONSUMER_OFFSET = _m(
    "consumer_offset",
    "gauge",
    ("feed",),
    "The next source offset an owned partition's state expects (its last applied offset + 1).",
    contract=False,
)
PARTITIONS_OWNED = _m(
    "partitions_owned",
    "gauge",
    ("feed",),
    "Source partitions this worker actively owns.",
    sharded=False,
    contract=False,
)
STATE_KEYS = _m("state_keys", "gauge", ("feed",), "Table keys held for an owned partition.", contract=False)
STATE_UNREAD = _m(
    "state_unread",
    "gauge",
    ("feed", "reason"),
    "Table keys (unknown_key, newer_version) or totals series (unknown_series) of an owned partition "
    "this worker skipped when read: written by another release. 0 after a clean upgrade.",
    contract=False,
)
WORKER_INFO = _m(
    "worker_info",
    "gauge",
    ("version", "store", "broker"),
    "Always 1: this worker's version, table store and broker kind.",
    sharded=False,
    contract=False,
)
POLICY_INFO = _m(
    "policy_info",
    "gauge",
    ("policy_hash",),
    "Always 1: the hash of the policy this worker judges by (schemas/policy.py); the rules carry theirs.",
    sharded=False,
    contract=False,
)

CATALOG: Final[tuple[MetricSpec, ...]] = (
    FACILITY_INFO,
    ED_BEDS,
    FACILITY_OPEN,
    BEDS_STAFFED,
    BEDS_OCCUPIED,
    VISITS,
    VISITS_TODAY,
    VISITS_MONTH,
    ED_PATIENTS,
    ED_LONG_STAY,
    ED_ARRIVALS_LAST_HOUR,
    ED_DEPARTURES,
    REQUESTS_OPEN,
    REQUEST_STAGE_SECONDS,
    REQUESTS_DUE_SOON,
    REQUESTS_OVERDUE,
    CASES_OPEN,
    CASE_INTERVAL_SECONDS,
    CASE_INTERVALS_WITHIN,
    CASE_BYPASS,
    CASE_CLOCKS_DUE_SOON,
    CASE_CLOCKS_OVERDUE,
    REFERRALS,
    REFERRALS_TODAY,
    REFERRALS_MONTH,
    REFERRAL_STAGE_SECONDS,
    REFERRALS_ENDED,
    REFERRALS_ACCEPTED_LATE,
    REFERRALS_PENDING,
    REFERRALS_EXPIRED,
    EVENTS,
    FACILITY_EVENTS,
    EVENTS_DUPLICATE,
    EVENTS_REJECTED,
    FEED_LAST_SEEN,
    EVENT_DELAY,
    CONSUMER_LAG,
    CONSUMER_LAG_UNKNOWN,
    CONSUMER_OFFSET,
    PARTITIONS_OWNED,
    STATE_KEYS,
    STATE_UNREAD,
    WORKER_INFO,
    POLICY_INFO,
)
BY_NAME: Final[dict[str, MetricSpec]] = {spec.name: spec for spec in CATALOG}


def sample_names() -> frozenset[str]:
    """Every series name the service exports (what PromQL may reference)."""
    return frozenset(name for spec in CATALOG for name in spec.sample_names)
