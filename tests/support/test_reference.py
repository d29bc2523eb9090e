"""The oracle tested: small logs worked out by hand, the fault table, and hostile messages.

Each log below has about ten messages, chosen so that one rule of EVENTS.md decides each figure;
the expected figures are written out by hand next to the reason for each. The clock is fixed at
NOW (10:00 in the alliance, 02:00 UTC), so that "today", "last hour" and the standards are known.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from hypothesis import HealthCheck, given, settings

from schemas.registry import load_registry
from tests.reliability.hostile import Case, hostile_cases
from tests.support.contract import STAGE_BUCKETS, TYPE_FEED, bucket_label
from tests.support.faults import malformed_messages
from tests.support.reference import Expected, Labels, Published, expected_metrics
from tests.support.reference_decode import judge

NOW: Final = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
P: Final = "medalliance_"
MCH, THC, PEOPLE, TCM, CLINIC = "yx-ch-mch", "yx-thc-zhigong", "yx-ch-people", "yx-ch-tcm", "yx-vc-zhigong-01"


def local(clock: str, day: int = 22) -> str:
    """A wire timestamp on November `day` in the alliance's zone (+08:00)."""
    return f"2026-11-{day:02d}T{clock}:00+08:00"


def at(clock: str, day: int = 22) -> float:
    return datetime.fromisoformat(local(clock, day)).timestamp()


def msg(
    event_id: str, kind: str, facility: str, occurred: str, *, topic: str | None = None, **fields: Any
) -> Published:
    """One event on the wire, on its type's feed unless `topic` names one (a heartbeat, a wrong one)."""
    event = {"event_id": event_id, "type": kind, "schema_version": 1, "facility_id": facility,
             "occurred_at": occurred, **fields}  # fmt: skip
    feed = topic or TYPE_FEED[kind]
    return Published(feed, facility.encode(), orjson.dumps(event), None)


def raw(feed: str, value: bytes) -> Published:
    return Published(feed, None, value, None)


def series(name: str, **labels: str) -> tuple[str, Labels]:
    return (P + name, frozenset(labels.items()))


def without_registry(expected: Expected) -> Expected:
    """The figures the log moves (the registry series are the same for every log)."""
    registry = (P + "facility_info", P + "ed_beds")
    return {key: value for key, value in expected.items() if key[0] not in registry}


def delivered(facility: str, feed: str, count: int, last: float, **types: int) -> Expected:
    """The per-event counters of `count` accepted events of one facility on one feed."""
    out = {series("events_total", feed=feed, type=kind.replace("_", ".")): n for kind, n in types.items()}
    return {
        **out,
        series("facility_events_total", facility=facility, feed=feed): count,
        series("event_delay_seconds_count", feed=feed): count,
        series("feed_last_seen_timestamp_seconds", facility=facility, feed=feed): last,
    }


def test_beds_census_moves_cancel_and_floor() -> None:
    log = [
        msg("b1", "bed.census", MCH, local("08:00"), ward_id="obstetrics", beds_staffed=48, beds_occupied=40),
        msg("b2", "bed.admit", MCH, local("08:30"), ward_id="obstetrics", encounter_id="e2"),
        # Before the census: already in it.
        msg("b3", "bed.admit", MCH, local("07:50"), ward_id="obstetrics", encounter_id="e3"),
        msg("b4", "bed.discharge", MCH, local("08:10"), ward_id="gynecology", encounter_id="e4"),
        msg("b5", "bed.admit", MCH, local("08:20"), ward_id="gynecology", encounter_id="e5"),
        msg("b6", "bed.transfer", MCH, local("08:40"), ward_id="obstetrics", to_ward_id="nicu",
            encounter_id="e6"),
        msg("b7", "bed.cancel", MCH, local("09:00"), cancelled_event_id="b2"),
        msg("b2", "bed.admit", MCH, local("08:30"), ward_id="obstetrics", encounter_id="e2"),  # a resend
        msg("b8", "bed.census", MCH, local("09:10"), ward_id="nowhere", beds_staffed=1, beds_occupied=1),
        msg("b9", "bed.census", MCH, local("09:30"), ward_id="pediatrics", beds_staffed=38, beds_occupied=45),
    ]  # fmt: skip
    assert without_registry(expected_metrics(log, now=NOW)) == {
        # Census 40, the cancelled admit undone, the 07:50 admit already in the census, a transfer out.
        series("beds_occupied", facility=MCH, ward="obstetrics"): 39,
        series("beds_staffed", facility=MCH, ward="obstetrics"): 48,
        # No census: nominal beds; occupancy floored at each step (0 after the discharge, then 1).
        series("beds_occupied", facility=MCH, ward="gynecology"): 1,
        series("beds_staffed", facility=MCH, ward="gynecology"): 30,
        series("beds_occupied", facility=MCH, ward="nicu"): 1,
        series("beds_staffed", facility=MCH, ward="nicu"): 12,
        # Corridor beds: occupied above staffed is real.
        series("beds_occupied", facility=MCH, ward="pediatrics"): 45,
        series("beds_staffed", facility=MCH, ward="pediatrics"): 38,
        **delivered(MCH, "beds", 8, at("09:30"), bed_census=2, bed_admit=3, bed_discharge=1, bed_transfer=1,
                    bed_cancel=1),
        series("events_duplicate_total", feed="beds"): 1,
        series("events_rejected_total", feed="beds", reason="unknown_ward", facility=MCH): 1,
    }  # fmt: skip


def test_visits_today_in_the_alliance_zone_and_the_ed_now() -> None:
    log = [
        msg("v1", "visit.outpatient", THC, local("09:00")),
        msg("v2", "visit.outpatient", THC, "2026-11-21T16:30:00+00:00"),  # 00:30 today in the alliance
        msg("v3", "visit.outpatient", THC, local("23:59", day=21)),  # yesterday
        msg("v4", "ed.arrival", THC, local("09:30"), visit_id="A", arrival_mode="walk_in"),
        msg("v5", "ed.triage", THC, local("09:35"), visit_id="A", level=3),
        msg("v6", "ed.triage", THC, local("09:33"), visit_id="A", level=2),  # earlier: not the latest
        msg("v7", "ed.triage", THC, local("05:10"), visit_id="B", level=1),  # before its arrival arrives
        msg("v8", "ed.arrival", THC, local("05:00"), visit_id="B", arrival_mode="ambulance"),
        msg("v9", "ed.arrival", THC, local("07:00"), visit_id="C", arrival_mode="referral"),
        msg("v10", "ed.departure", THC, local("08:00"), visit_id="C", disposition="discharged"),
        msg("v11", "ed.triage", THC, local("09:40"), visit_id="A", level=5),  # out of range
    ]  # fmt: skip
    assert without_registry(expected_metrics(log, now=NOW)) == {
        series("visits_total", facility=THC, kind="outpatient"): 3,
        series("visits_today", facility=THC, kind="outpatient"): 2,
        series("visits_total", facility=THC, kind="emergency"): 3,
        series("visits_today", facility=THC, kind="emergency"): 3,
        # Yesterday is in November too: this month to date holds every visit.
        series("visits_month", facility=THC, kind="outpatient"): 3,
        series("visits_month", facility=THC, kind="emergency"): 3,
        series("ed_patients", facility=THC, triage_level="3"): 1,  # A, by its 09:35 triage
        series("ed_patients", facility=THC, triage_level="1"): 1,  # B
        series("ed_long_stay_patients", facility=THC): 1,  # B, in since 05:00: 5 h > 4 h
        series("ed_arrivals_last_hour", facility=THC): 1,  # A at 09:30
        series("ed_departures_total", facility=THC, disposition="discharged"): 1,
        **delivered(THC, "visits", 10, at("09:35"), visit_outpatient=3, ed_arrival=3, ed_triage=3,
                    ed_departure=1),
        series("events_rejected_total", feed="visits", reason="schema_violation", facility=THC): 1,
    }  # fmt: skip


def request(event_id: str, stage: str, facility: str, clock: str, rid: str, **fields: str) -> Published:
    return msg(event_id, f"request.{stage}", facility, local(clock), request_id=rid, **fields)


def stage_buckets(category: str, stage: str, first: float) -> Expected:
    """One observation of `first` seconds or less: each cumulative bucket from `first` up holds 1."""
    bounds = [b for b in STAGE_BUCKETS if b >= first] + [float("inf")]
    name = "request_stage_seconds_bucket"
    return {series(name, category=category, stage=stage, le=bucket_label(b)): 1 for b in bounds}


def stage_time(category: str, stage: str, seconds: float) -> Expected:
    return {
        series("request_stage_seconds_count", category=category, stage=stage): 1,
        series("request_stage_seconds_sum", category=category, stage=stage): seconds,
        **stage_buckets(category, stage, seconds),
    }


def test_requests_stages_standards_and_order() -> None:
    to_people = {"to_facility_id": PEOPLE}
    log = [
        request("r1s", "submitted", THC, "09:52", "R1", category="stroke", **to_people),
        request("r1a", "accepted", PEOPLE, "09:55", "R1"),
        request("r2s", "submitted", THC, "09:51", "R2", category="chest_pain", **to_people),
        request("r3d", "dispatched", PEOPLE, "09:50", "R3"),  # before its submission arrives
        request("r3s", "submitted", THC, "09:45", "R3", category="trauma", **to_people),
        request("r4s", "submitted", MCH, "08:00", "R4", category="critical_maternal", **to_people),
        request("r4a", "accepted", PEOPLE, "08:05", "R4"),
        request("r4r", "arrived", PEOPLE, "09:00", "R4"),
        request("r4c", "completed", PEOPLE, "09:30", "R4"),
        request("r5c", "cancelled", THC, "09:10", "R5", reason="never submitted"),
        request("r6s", "submitted", THC, "09:00", "R6", category="trauma", **to_people),
    ]
    opened = {"from_facility": THC, "to_facility": PEOPLE}
    assert without_registry(expected_metrics(log, now=NOW)) == {
        series("requests_open", category="stroke", stage="accepted", **opened): 1,
        series("requests_open", category="chest_pain", stage="submitted", **opened): 1,
        series("requests_open", category="trauma", stage="dispatched", **opened): 1,
        series("requests_open", category="trauma", stage="submitted", **opened): 1,
        # R2 waited 9 min of its 10: due soon (>= 8 min). R3 is past acceptance (dispatched).
        series("requests_due_soon", category="chest_pain", stage="accepted", to_facility=PEOPLE): 1,
        # R6 waited 60 min: past 10 min to accept and, exactly at it, the 60 min to arrive.
        series("requests_overdue", category="trauma", stage="accepted", to_facility=PEOPLE): 1,
        series("requests_overdue", category="trauma", stage="arrived", to_facility=PEOPLE): 1,
        **stage_time("stroke", "accepted", 180),
        **stage_time("trauma", "dispatched", 300),
        **stage_time("critical_maternal", "accepted", 300),
        **stage_time("critical_maternal", "arrived", 3600),
        **stage_time("critical_maternal", "completed", 5400),
        series("events_total", feed="requests", type="request.submitted"): 5,
        series("events_total", feed="requests", type="request.accepted"): 2,
        series("events_total", feed="requests", type="request.dispatched"): 1,
        series("events_total", feed="requests", type="request.arrived"): 1,
        series("events_total", feed="requests", type="request.completed"): 1,
        series("events_total", feed="requests", type="request.cancelled"): 1,
        series("facility_events_total", facility=THC, feed="requests"): 5,
        series("facility_events_total", facility=PEOPLE, feed="requests"): 5,
        series("facility_events_total", facility=MCH, feed="requests"): 1,
        series("event_delay_seconds_count", feed="requests"): 11,
        series("feed_last_seen_timestamp_seconds", facility=THC, feed="requests"): at("09:52"),
        series("feed_last_seen_timestamp_seconds", facility=PEOPLE, feed="requests"): at("09:55"),
        series("feed_last_seen_timestamp_seconds", facility=MCH, feed="requests"): at("08:00"),
    }


def test_every_reject_reason_its_facility_and_duplicates_per_feed() -> None:
    census: dict[str, Any] = {"ward_id": "icu", "beds_staffed": 8, "beds_occupied": 2}
    log = [
        msg("h1", "heartbeat", CLINIC, local("09:59"), topic="visits", feed="visits"),
        # The same id again on the same feed is a duplicate; on another feed it is not.
        msg("h1", "heartbeat", CLINIC, local("09:59"), topic="visits", feed="visits", source="resend"),
        msg("h1", "heartbeat", CLINIC, local("09:59"), topic="beds", feed="beds"),
        raw("beds", b'{"type": "bed.census",'),
        raw("beds", orjson.dumps({"type": "bed.census", "facility_id": TCM, "pad": "x" * 70_000})),
        msg("u1", "heartbeat", PEOPLE, local("09:00"), topic="beds", feed="beds", schema_version=2),
        msg("t1", "ed.arrival", TCM, local("09:00"), topic="beds", visit_id="A", arrival_mode="walk_in"),
        request("f1", "submitted", TCM, "09:00", "R", category="stroke", to_facility_id="nowhere"),
        msg("f2", "heartbeat", "nowhere", local("09:00"), topic="visits", feed="visits"),
        msg("c1", "bed.census", TCM, local("10:10"), **census),  # 10 min ahead of the clock
        msg("c2", "bed.census", TCM, local("09:00", day=14), **census),  # 8 days old
        msg("h1", "ed.triage", CLINIC, local("09:00"), visit_id="A", level=9),  # invalid before duplicate
    ]  # fmt: skip

    def rejected(feed: str, reason: str, facility: str) -> tuple[str, Labels]:
        return series("events_rejected_total", feed=feed, reason=reason, facility=facility)

    assert without_registry(expected_metrics(log, now=NOW)) == {
        **delivered(CLINIC, "visits", 1, at("09:59"), heartbeat=1),
        **delivered(CLINIC, "beds", 1, at("09:59"), heartbeat=1),
        series("events_duplicate_total", feed="visits"): 1,
        rejected("beds", "invalid_json", "unknown"): 1,
        rejected("beds", "too_large", "unknown"): 1,  # not parsed: no facility
        rejected("beds", "unsupported_schema_version", PEOPLE): 1,
        rejected("beds", "unknown_type", TCM): 1,
        rejected("requests", "unknown_facility", TCM): 1,  # the destination is the unknown one
        rejected("visits", "unknown_facility", "unknown"): 1,
        rejected("beds", "future_timestamp", TCM): 1,
        rejected("beds", "too_old", TCM): 1,
        rejected("visits", "schema_violation", CLINIC): 1,
    }


def test_registry_series_come_from_the_shipped_registry() -> None:
    expected = expected_metrics([], now=NOW)
    info = {labels: value for (name, labels), value in expected.items() if name == P + "facility_info"}
    assert len(info) == 136 and set(info.values()) == {1.0}  # 3 hospitals, 8 centers, 125 clinics
    people = frozenset(
        {"facility": PEOPLE, "name": "阳西县人民医院", "name_en": "Yangxi County People's Hospital",
         "level": "county_hospital", "township": "zhigong"}.items()
    )  # fmt: skip
    assert info[people] == 1
    assert expected[series("ed_beds", facility=PEOPLE)] == 24
    assert expected[series("ed_beds", facility=MCH)] == 8
    assert without_registry(expected) == {}


def test_the_reference_decoder_gives_each_fault_table_reason() -> None:
    for feed, message, reason in malformed_messages(load_registry(), now=NOW, seed=3, count=60):
        assert judge(message, feed, now=NOW).reason == reason, message[:200]


_REGISTRY: Final = load_registry()


@settings(max_examples=600, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(case=hostile_cases(_REGISTRY, NOW))
def test_the_reference_decoder_gives_each_hostile_reason(case: Case) -> None:
    # Two views made apart agree: the reason a hostile message was built with, and the decoder's.
    assert judge(case.raw, case.feed, now=NOW).reason == case.reason, (case.kind, case.raw[:300])


def test_a_clock_boundary_is_the_contract_s() -> None:
    census: dict[str, Any] = {"ward_id": "icu", "beds_staffed": 8, "beds_occupied": 2}
    ahead = msg("c", "bed.census", TCM, (NOW + timedelta(minutes=5)).isoformat(), **census)
    beyond = msg("c", "bed.census", TCM, (NOW + timedelta(minutes=5, seconds=1)).isoformat(), **census)
    assert judge(ahead.value, "beds", now=NOW).reason is None  # 5 min ahead is tolerated
    assert judge(beyond.value, "beds", now=NOW).reason == "future_timestamp"
