"""The event contract as the tests read it, typed by hand from docs/contract.md and EVENTS.md.

    >>> TYPE_FEED["ed.triage"], FIELDS["ed.triage"]["level"]
    ('visits', Field(kind='int', low=1, high=4))
    >>> [series.name for series in SERIES][:2]

Nothing here is imported from the code under test: the reference (tests/support/reference.py) and
the comparator (tests/support/compare.py) take their rules, defaults and list of series from this
module, so a name, a limit or a default that drifts in the product is caught, not shared. Lengths
and ranges beyond the contract's prose are those of the JSON Schema handed to integrators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal
from zoneinfo import ZoneInfo

FEEDS: Final = ("beds", "visits", "requests")
# Each type belongs to exactly one feed; a heartbeat goes to the feed its `feed` field names.
TYPE_FEED: Final = {
    **dict.fromkeys(("bed.census", "bed.admit", "bed.discharge", "bed.transfer", "bed.cancel"), "beds"),
    **dict.fromkeys(("visit.outpatient", "ed.arrival", "ed.triage", "ed.departure"), "visits"),
    **dict.fromkeys(
        (
            "request.submitted", "request.accepted", "request.rejected", "request.dispatched",
            "request.arrived", "request.completed", "request.cancelled",
            "case.opened", "case.milestone", "case.closed",
            "referral.requested", "referral.accepted", "referral.rejected", "referral.arrived",
            "referral.returned", "referral.closed", "referral.cancelled",
        ),
        "requests",
    ),
}  # fmt: skip
CATEGORIES: Final = ("chest_pain", "stroke", "trauma", "critical_maternal", "critical_neonatal")
STAGES: Final = ("submitted", "accepted", "dispatched", "arrived", "completed")
TIMED_STAGES: Final = STAGES[1:]
# The reject reasons, in the order the contract checks them.
REJECT_REASONS: Final = (
    "too_large", "invalid_json", "schema_violation", "unsupported_schema_version", "unknown_type",
    "milestone_not_in_category", "unknown_facility", "unknown_ward", "future_timestamp", "too_old",
)  # fmt: skip
MAX_MESSAGE_BYTES: Final = 64 * 1024
# RFC 8259 §9 lets a parser limit nesting; the service's parser stops at 1024 levels.
MAX_NESTING: Final = 1024

# The contract's defaults: the alliance's zone, a long ED stay, the due-soon share, the clock
# tolerance and the retention, and the accept / arrive standards per category, in minutes.
ZONE: Final = ZoneInfo("Asia/Shanghai")
ED_LONG_STAY_HOURS: Final = 4.0
DUE_SOON_FRACTION: Final = 0.8
FUTURE_TOLERANCE_SECONDS: Final = 5 * 60.0
RETENTION_SECONDS: Final = 7 * 86_400.0
ACCEPT_MINUTES: Final = dict.fromkeys(CATEGORIES, 10.0)
ARRIVE_MINUTES: Final = {
    "chest_pain": 60.0,
    "stroke": 60.0,
    "trauma": 60.0,
    "critical_maternal": 90.0,
    "critical_neonatal": 90.0,
}
# Stage-time bucket bounds in seconds: outside the contract's prose (a product choice), typed here
# so that a changed boundary is a visible change to the dashboards' quantiles, not a silent one.
STAGE_BUCKETS: Final = (
    60.0, 180.0, 300.0, 480.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 4800.0, 5400.0,
    7200.0, 10800.0, 21600.0,
)  # fmt: skip


# Clinical-interval bucket bounds in seconds (minutes 5 ... 360): a product choice typed here too.
CASE_BUCKETS: Final = tuple(
    60.0 * minutes for minutes in (5, 10, 15, 20, 30, 45, 60, 75, 90, 105, 120, 180, 270, 360)
)


def bucket_label(bound: float | str) -> str:
    """One spelling of a bucket's `le` for both sides of a comparison ("60", "60.0" -> "60.0")."""
    value = float(bound)
    return "+Inf" if value == float("inf") else repr(value)


# Clinical cases (docs/contract.md, "Clinical cases"), read the other way round from the product:
# for each milestone, diagnosis and strategy, the centers it belongs to.
CASE_ARRIVALS: Final = ("walk_in", "ambulance_120", "transfer", "in_hospital")
_EVERY_CENTER: Final = frozenset(CATEGORIES)
MILESTONE_CENTERS: Final[dict[str, frozenset[str]]] = {
    **dict.fromkeys(("first_medical_contact", "door_in", "door_out", "door"), _EVERY_CENTER),
    "symptom_onset": frozenset({"chest_pain"}),
    "last_known_well": frozenset({"stroke"}),
    **dict.fromkeys(("first_ecg", "ecg_transmitted", "cath_lab_activated", "cath_lab_ready", "wire_crossed"),
                    frozenset({"chest_pain"})),
    **dict.fromkeys(("diagnosis", "reperfusion_strategy", "needle"), frozenset({"chest_pain", "stroke"})),
    "ct": frozenset({"stroke", "trauma"}),
    **dict.fromkeys(("puncture", "recanalization"), frozenset({"stroke"})),
    **dict.fromkeys(("decision_to_operate", "operation"), frozenset({"trauma"})),
    **dict.fromkeys(("decision_to_deliver", "delivery"), frozenset({"critical_maternal"})),
    **dict.fromkeys(("resuscitation", "nicu_admission"), frozenset({"critical_neonatal"})),
}  # fmt: skip
DIAGNOSIS_CENTER: Final = {
    **dict.fromkeys(
        ("stemi", "nstemi", "unstable_angina", "aortic_dissection", "pulmonary_embolism", "non_cardiac"),
        "chest_pain",
    ),
    **dict.fromkeys(("ischemic_stroke", "hemorrhagic_stroke", "tia", "stroke_mimic"), "stroke"),
}
STRATEGY_CENTER: Final = {
    **dict.fromkeys(("primary_pci", "thrombolysis", "pharmaco_invasive", "cabg"), "chest_pain"),
    **dict.fromkeys(("iv_thrombolysis", "thrombectomy", "bridging"), "stroke"),
    **dict.fromkeys(
        ("emergency_caesarean", "instrumental_delivery", "vaginal_delivery"), "critical_maternal"
    ),
}
STRATEGY_BOTH: Final = "conservative"  # the one strategy of two centers: chest pain and stroke
# The milestone each detail rides on: required there, absent everywhere else.
DETAIL_MILESTONES: Final = {
    "diagnosis": ("diagnosis",),
    "strategy": ("reperfusion_strategy", "decision_to_deliver"),
}

# Two-way referrals (docs/contract.md, "Two-way referrals"): the progress stages in their order, the
# two timed ones, the endings (each counted once per referral), the directions and outside scopes.
REFERRAL_STAGES: Final = ("requested", "accepted", "arrived", "returned", "closed")
REFERRAL_TIMED_STAGES: Final = ("accepted", "arrived")
REFERRAL_OUTCOMES: Final = ("returned", "closed", "rejected", "cancelled")
REFERRAL_REASONS: Final = (
    "beyond_capability", "equipment", "specialist", "recovery", "chronic_care", "patient_choice", "other",
)  # fmt: skip
DIRECTIONS: Final = ("up", "down", "lateral", "external")
EXTERNAL_SCOPES: Final = ("in_county", "out_of_county")
# An outside destination's label: its scope, never its code.
EXTERNAL_LABEL: Final = {scope: f"external_{scope}" for scope in EXTERNAL_SCOPES}
# The registry's levels, higher care first (county hospital > town health center > village clinic),
# and the primary levels whose visits are 基层诊疗量.
LEVEL_RANK: Final = {"county_hospital": 3, "town_health_center": 2, "village_clinic": 1}
PRIMARY_LEVELS: Final = ("town_health_center", "village_clinic")
# The shipped policy's numbers (schemas/policy.yaml, typed by hand): a referral still pending this
# many minutes after its request is expired; an acceptance at or past it is late.
PENDING_LIMIT_MINUTES: Final = {"up": 120.0, "lateral": 240.0, "down": 1440.0, "external": 1440.0}
PRIMARY_CARE_SHARE_TARGET: Final = 0.65
# Referral stage-time bucket bounds in seconds (minutes 5 ... 2880): a product choice typed here too.
REFERRAL_STAGE_BUCKETS: Final = tuple(
    60.0 * minutes for minutes in (5, 10, 15, 30, 60, 120, 240, 480, 720, 1440, 2880)
)

FieldKind = Literal["id", "pseudonym", "text", "int", "enum", "time", "feed", "bool", "code"]


@dataclass(frozen=True)
class Field:
    """One event field: its kind and, by kind, its length or range or values."""

    kind: FieldKind
    low: int = 1
    high: int = 64
    values: tuple[str, ...] = ()
    optional: bool = False


_ID: Final = Field("id")  # registry ids and event ids: 1-64 characters
_PSEUDONYM: Final = Field("pseudonym", high=128)
_BEDS: Final = Field("int", low=0, high=100_000)
_REASON: Final = Field("text", low=0, high=500)
ENVELOPE: Final = {
    "event_id": _ID,
    "facility_id": _ID,
    "occurred_at": Field("time"),
    "sent_at": Field("time", optional=True),
    "source": Field("text", low=0, optional=True),
}
_REQUEST: Final = {"request_id": _PSEUDONYM}
_REFERRAL: Final = {"referral_id": _PSEUDONYM}
_OPTIONAL_ID: Final = Field("id", optional=True)
FIELDS: Final[dict[str, dict[str, Field]]] = {
    "heartbeat": {"feed": Field("feed")},
    "bed.census": {"ward_id": _ID, "beds_staffed": _BEDS, "beds_occupied": _BEDS},
    "bed.admit": {"ward_id": _ID, "encounter_id": _PSEUDONYM},
    "bed.discharge": {"ward_id": _ID, "encounter_id": _PSEUDONYM},
    "bed.transfer": {"ward_id": _ID, "to_ward_id": _ID, "encounter_id": _PSEUDONYM},
    "bed.cancel": {"cancelled_event_id": _ID},
    "visit.outpatient": {"department": Field("text", low=0, optional=True)},
    "ed.arrival": {
        "visit_id": _PSEUDONYM,
        "arrival_mode": Field("enum", values=("walk_in", "ambulance", "referral")),
    },
    "ed.triage": {"visit_id": _PSEUDONYM, "level": Field("int", low=1, high=4)},
    "ed.departure": {
        "visit_id": _PSEUDONYM,
        "disposition": Field(
            "enum", values=("admitted", "discharged", "transferred", "left_without_being_seen", "died")
        ),
    },
    "request.submitted": {**_REQUEST, "category": Field("enum", values=CATEGORIES), "to_facility_id": _ID},
    "request.accepted": _REQUEST,
    "request.rejected": {**_REQUEST, "reason": _REASON},
    "request.dispatched": _REQUEST,
    "request.arrived": _REQUEST,
    "request.completed": _REQUEST,
    "request.cancelled": {**_REQUEST, "reason": _REASON},
    "case.opened": {
        "case_id": _PSEUDONYM, "category": Field("enum", values=CATEGORIES),
        "arrival_mode": Field("enum", values=CASE_ARRIVALS), "door_facility_id": _ID,
    },
    "case.milestone": {
        "case_id": _PSEUDONYM, "category": Field("enum", values=CATEGORIES),
        "milestone": Field("enum", values=tuple(MILESTONE_CENTERS)),
        "diagnosis": Field("enum", values=tuple(DIAGNOSIS_CENTER), optional=True),
        "strategy": Field("enum", values=(*STRATEGY_CENTER, STRATEGY_BOTH), optional=True),
        "bypassed_ed": Field("bool", optional=True), "bypassed_ccu": Field("bool", optional=True),
    },
    "case.closed": {"case_id": _PSEUDONYM},
    # The destination is exactly one of to_facility_id and to_external_code (with its scope), and a
    # target ward needs to_facility_id: checked apart (tests/support/reference_decode.py).
    "referral.requested": {
        **_REFERRAL, "reason": Field("enum", values=REFERRAL_REASONS), "department": Field("text"),
        "to_facility_id": _OPTIONAL_ID, "to_external_code": Field("code", optional=True),
        "to_external_scope": Field("enum", values=EXTERNAL_SCOPES, optional=True),
        "target_ward_id": _OPTIONAL_ID,
    },
    "referral.accepted": {**_REFERRAL, "target_ward_id": _OPTIONAL_ID},
    "referral.rejected": {**_REFERRAL, "reason": _REASON},
    "referral.arrived": _REFERRAL,
    "referral.returned": _REFERRAL,
    "referral.closed": _REFERRAL,
    "referral.cancelled": {**_REFERRAL, "reason": _REASON},
}  # fmt: skip

Aggregation = Literal["sum", "max", "count_only", "registry"]


@dataclass(frozen=True)
class Series:
    """A contract metric as the comparator reads it: how workers' samples combine, and which
    sample names it has (a histogram: buckets, sum, count)."""

    name: str
    aggregation: Aggregation
    histogram: bool = False

    def sample_names(self) -> tuple[str, ...]:
        if not self.histogram:
            return (self.name,)
        if self.aggregation == "count_only":  # its values depend on when the worker ran
            return (f"{self.name}_count",)
        return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")


_P: Final = "medalliance_"
# Every metric of the contract's table (docs/contract.md, "Metrics the dashboards and alerts rely
# on"), by how workers' samples combine: the registry metrics are exported alike by every worker
# (max over workers), timestamps by max over partitions, everything else by sum.
_SUMMED: Final = (
    "beds_staffed", "beds_occupied", "visits_total", "visits_today", "ed_patients",
    "ed_long_stay_patients", "ed_arrivals_last_hour", "ed_departures_total", "requests_open",
    "requests_due_soon", "requests_overdue", "events_total", "facility_events_total",
    "events_duplicate_total", "events_rejected_total",
    "cases_open", "case_clocks_due_soon", "case_clocks_overdue", "case_intervals_within_total",
    "case_bypass_total",
    "visits_month", "referrals_total", "referrals_today", "referrals_month", "referrals_ended_total",
    "referrals_accepted_late_total", "referrals_pending", "referrals_expired",
)  # fmt: skip
SERIES: Final = (
    *(Series(_P + name, "registry") for name in ("facility_info", "ed_beds")),
    *(Series(_P + name, "sum") for name in _SUMMED),
    Series(_P + "request_stage_seconds", "sum", histogram=True),
    Series(_P + "case_interval_seconds", "sum", histogram=True),
    Series(_P + "referral_stage_seconds", "sum", histogram=True),
    Series(_P + "feed_last_seen_timestamp_seconds", "max"),
    Series(_P + "event_delay_seconds", "count_only", histogram=True),
)


@dataclass(frozen=True)
class CenterStandard:
    """One certified interval of docs/centers.md: the cases it counts, its milestones and minutes."""

    id: str
    category: str
    start: str
    end: str
    minutes: float
    diagnosis: frozenset[str] = frozenset()  # empty: any (also none yet)
    strategy: frozenset[str] = frozenset()
    arrival: frozenset[str] = frozenset()


_STEMI: Final = frozenset({"stemi"})
_PPCI: Final = frozenset({"primary_pci"})
_ISCHEMIC: Final = frozenset({"ischemic_stroke"})
_IVT: Final = frozenset({"iv_thrombolysis", "bridging"})
# docs/centers.md, "The shipped standards", typed again by hand.
CENTER_STANDARDS: Final = (
    CenterStandard("fmc_to_ecg", "chest_pain", "first_medical_contact", "first_ecg", 10),
    CenterStandard("ecg_to_diagnosis", "chest_pain", "first_ecg", "diagnosis", 10, _STEMI),
    CenterStandard("door_to_wire", "chest_pain", "door", "wire_crossed", 90, _STEMI, _PPCI),
    CenterStandard("cath_lab_activation", "chest_pain", "cath_lab_activated", "cath_lab_ready", 30, _STEMI,
                   _PPCI),
    CenterStandard("fmc_to_wire_transfer", "chest_pain", "first_medical_contact", "wire_crossed", 120, _STEMI,
                   _PPCI, frozenset({"transfer"})),
    CenterStandard("door_in_door_out", "chest_pain", "door_in", "door_out", 30, _STEMI,
                   arrival=frozenset({"transfer"})),
    CenterStandard("door_to_needle_stemi", "chest_pain", "door", "needle", 30, _STEMI,
                   frozenset({"thrombolysis", "pharmaco_invasive"})),
    CenterStandard("onset_to_needle", "stroke", "last_known_well", "needle", 270, _ISCHEMIC, _IVT),
    CenterStandard("door_to_needle", "stroke", "door", "needle", 60, _ISCHEMIC, _IVT),
    CenterStandard("door_to_needle_45", "stroke", "door", "needle", 45, _ISCHEMIC, _IVT),
    CenterStandard("door_to_puncture", "stroke", "door", "puncture", 90, _ISCHEMIC,
                   frozenset({"thrombectomy", "bridging"})),
    CenterStandard("decision_to_delivery", "critical_maternal", "decision_to_deliver", "delivery", 30,
                   strategy=frozenset({"emergency_caesarean"})),
    CenterStandard("trauma_door_to_ct", "trauma", "door", "ct", 30),
    CenterStandard("neonatal_door_to_nicu", "critical_neonatal", "door", "nicu_admission", 30),
)  # fmt: skip
# Bypass shares: (id, the cases counted, the units they must all have bypassed).
CENTER_BYPASS: Final = (
    (CenterStandard("stemi_ems_bypass", "chest_pain", "", "", 0, _STEMI, _PPCI,
                    frozenset({"ambulance_120", "transfer"})), ("ed", "ccu")),
    (CenterStandard("stemi_walk_in_bypass", "chest_pain", "", "", 0, _STEMI, _PPCI, frozenset({"walk_in"})),
     ("ccu",)),
)  # fmt: skip
CENTER_DUE_SOON_FRACTION: Final = 0.8
