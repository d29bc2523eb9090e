"""The referral oracle tested: its decoding of referral.* and its series on logs worked out by hand.

The clock is NOW (10:00 on 22 November in the alliance). The main log has one referral per rule;
each figure below is written out next to the referral that makes it. Levels (shipped registry):
yx-ch-people and yx-ch-tcm are county hospitals, yx-thc-zhigong and yx-thc-chengcun town health
centers, yx-vc-zhigong-01 a village clinic. Pending limits: up 120, lateral 240, down and external
1440 minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
import pytest

from schemas.decode import Rejection, decode
from schemas.registry import load_registry
from tests.support.contract import REFERRAL_REASONS, REFERRAL_STAGE_BUCKETS, bucket_label
from tests.support.reference import Expected, Published, accepted_events, expected_metrics, same_local_month
from tests.support.reference_decode import judge
from tests.support.reference_indicators import (
    arrived_accepted_share,
    down_up_ratio,
    mean_time_to_accept,
    primary_care_share,
    referral_counts,
)
from tests.support.reference_referrals import referrals
from tests.support.test_reference import CLINIC, NOW, PEOPLE, TCM, THC, local, msg, series

THC2: Final = "yx-thc-chengcun"
IN_COUNTY, OUT_OF_COUNTY = "external_in_county", "external_out_of_county"


def referral(event_id: str, stage: str, facility: str, occurred: str, rid: str, **fields: Any) -> Published:
    return msg(event_id, f"referral.{stage}", facility, occurred, referral_id=rid, **fields)


def asked(event_id: str, sender: str, occurred: str, rid: str, **destination: Any) -> Published:
    """A referral.requested; `destination` names to_facility_id or the outside code and scope."""
    return referral(event_id, "requested", sender, occurred, rid, reason="beyond_capability",
                    department="内科", **destination)  # fmt: skip


def outside(scope: str) -> dict[str, str]:
    return {
        "to_external_code": "GD-YJ-01" if scope == "in_county" else "GD-GZ-0001",
        "to_external_scope": scope,
    }


LOG: Final = [
    # U1 up, pending for the cardiology ward of the people's hospital, 60 min of its 120.
    asked("u1r", THC, local("09:00"), "U1", to_facility_id=PEOPLE, target_ward_id="cardiology"),
    asked("u1r", THC, local("09:00"), "U1", to_facility_id=TCM),  # a resend: a duplicate, ignored
    # U2 up, from a village clinic, no ward named: 150 min, expired.
    asked("u2r", CLINIC, local("07:30"), "U2", to_facility_id=THC),
    # U3 up: accepted exactly at its 120 min limit (late, still accepted), arrived after 150 min. A
    # second acceptance and a second request (new ids) come later in the log: the first ones fixed it.
    asked("u3r", THC, local("06:00"), "U3", to_facility_id=PEOPLE),
    referral("u3a", "accepted", PEOPLE, local("08:00"), "U3"),
    referral("u3a2", "accepted", PEOPLE, local("07:00"), "U3"),
    asked("u3r2", THC, local("05:00"), "U3", to_facility_id=TCM),
    referral("u3v", "arrived", PEOPLE, local("08:30"), "U3"),
    # D1 down, to the rehabilitation ward, requested yesterday 11:00: 1380 min of 1440, pending.
    asked("d1r", PEOPLE, local("11:00", day=21), "D1", to_facility_id=THC, target_ward_id="rehabilitation"),
    # D2 down to a village clinic, yesterday 10:00: exactly 1440 min, expired.
    asked("d2r", PEOPLE, local("10:00", day=21), "D2", to_facility_id=CLINIC),
    # D3 down: its acceptance (10 min) arrives before its request; returned to the sender (回转).
    referral("d3a", "accepted", THC, local("09:10"), "D3"),
    asked("d3r", TCM, local("09:00"), "D3", to_facility_id=THC),
    referral("d3t", "returned", THC, local("09:50"), "D3"),
    # L1 lateral between county hospitals, rejected.
    asked("l1r", PEOPLE, local("09:30"), "L1", to_facility_id=TCM),
    referral("l1x", "rejected", TCM, local("09:40"), "L1", reason="no bed"),
    # L2 lateral between town health centers: 300 min of 240, expired.
    asked("l2r", THC, local("05:00"), "L2", to_facility_id=THC2),
    # E1 out of the alliance, in the county: accepted 20 min, arrived 60 min, closed at the receiver.
    asked("e1r", PEOPLE, local("08:00"), "E1", **outside("in_county")),
    referral("e1a", "accepted", PEOPLE, local("08:20"), "E1"),
    referral("e1v", "arrived", PEOPLE, local("09:00"), "E1"),
    referral("e1c", "closed", PEOPLE, local("09:45"), "E1"),
    # E2 out of the county, yesterday, cancelled by the sender.
    asked("e2r", THC, local("09:00", day=21), "E2", **outside("out_of_county")),
    referral("e2x", "cancelled", THC, local("09:30", day=21), "E2", reason="improved"),
    # E3 out of the county two days ago, never answered: 46 h, expired.
    asked("e3r", THC, local("12:00", day=20), "E3", **outside("out_of_county")),
    # X up: an acceptance stamped before its request counts 0 s.
    asked("xr", THC2, local("09:20"), "X", to_facility_id=PEOPLE),
    referral("xa", "accepted", PEOPLE, local("09:15"), "X"),
    # Z: events of a referral whose request never came count for nothing.
    referral("za", "accepted", PEOPLE, local("09:00"), "Z"),
    referral("zc", "closed", PEOPLE, local("09:30"), "Z"),
]  # fmt: skip


def referral_series(expected: Expected) -> Expected:
    return {key: value for key, value in expected.items() if key[0].startswith("medalliance_referral")}


def observed(direction: str, stage: str, *seconds: float) -> Expected:
    """The stage-time histogram of some observations: count, sum and every cumulative bucket."""
    name = "referral_stage_seconds"
    out = {
        series(f"{name}_count", direction=direction, stage=stage): len(seconds),
        series(f"{name}_sum", direction=direction, stage=stage): sum(seconds),
    }
    for bound in (*REFERRAL_STAGE_BUCKETS, float("inf")):
        within = sum(1 for s in seconds if s <= bound)
        if within:
            out[series(f"{name}_bucket", direction=direction, stage=stage, le=bucket_label(bound))] = within
    return out


def flows(name: str, counts: dict[tuple[str, str, str], int]) -> Expected:
    return {
        series(name, direction=d, from_facility=sender, to_facility=to): n
        for (d, sender, to), n in counts.items()
    }


_TODAY: Final = {
    ("up", THC, PEOPLE): 2,  # U1, U3
    ("up", CLINIC, THC): 1,
    ("up", THC2, PEOPLE): 1,
    ("down", TCM, THC): 1,
    ("lateral", PEOPLE, TCM): 1,
    ("lateral", THC, THC2): 1,
    ("external", PEOPLE, IN_COUNTY): 1,
}
# Everything was requested in November: the month holds yesterday's and the day before's too.
_MONTH: Final = {
    **_TODAY,
    ("down", PEOPLE, THC): 1,  # D1
    ("down", PEOPLE, CLINIC): 1,  # D2
    ("external", THC, OUT_OF_COUNTY): 2,  # E2, E3
}


def test_every_direction_stage_ending_and_clock_of_the_hand_worked_log() -> None:
    assert referral_series(expected_metrics(LOG, now=NOW)) == {
        **flows("referrals_total", _MONTH),
        **flows("referrals_month", _MONTH),
        **flows("referrals_today", _TODAY),
        **observed("up", "accepted", 7200, 0),  # U3 120 min, X 0
        **observed("up", "arrived", 9000),  # U3 150 min
        **observed("down", "accepted", 600),  # D3
        **observed("external", "accepted", 1200),  # E1
        **observed("external", "arrived", 3600),
        series("referrals_ended_total", direction="down", outcome="returned"): 1,
        series("referrals_ended_total", direction="lateral", outcome="rejected"): 1,
        series("referrals_ended_total", direction="external", outcome="closed"): 1,
        series("referrals_ended_total", direction="external", outcome="cancelled"): 1,
        series("referrals_accepted_late_total", direction="up", facility=PEOPLE): 1,  # U3
        series("referrals_pending", facility=PEOPLE, ward="cardiology"): 1,  # U1
        series("referrals_pending", facility=THC, ward=""): 1,  # U2
        series("referrals_pending", facility=THC, ward="rehabilitation"): 1,  # D1
        series("referrals_pending", facility=CLINIC, ward=""): 1,  # D2
        series("referrals_pending", facility=THC2, ward=""): 1,  # L2
        series("referrals_pending", facility=OUT_OF_COUNTY, ward=""): 1,  # E3
        series("referrals_expired", facility=THC, ward=""): 1,
        series("referrals_expired", facility=CLINIC, ward=""): 1,
        series("referrals_expired", facility=THC2, ward=""): 1,
        series("referrals_expired", facility=OUT_OF_COUNTY, ward=""): 1,
    }


def test_the_first_request_fixes_the_referral() -> None:
    found = referrals(accepted_events(LOG, now=NOW))
    assert set(found) == {"U1", "U2", "U3", "D1", "D2", "D3", "L1", "L2", "E1", "E2", "E3", "X"}
    u3 = found["U3"]
    assert (u3.sender, u3.to_facility, u3.direction, u3.reason, u3.department) == (
        THC, PEOPLE, "up", "beyond_capability", "内科"
    )  # fmt: skip
    assert u3.requested_at == datetime.fromisoformat(local("06:00")).timestamp()
    assert u3.seconds_to("accepted") == 7200 and u3.accepted_late and not u3.pending
    assert found["U1"].to_facility == PEOPLE  # not the duplicate's TCM
    assert found["E1"].to_facility == IN_COUNTY and found["E1"].direction == "external"


def test_expiry_is_at_the_limit_not_a_second_before() -> None:
    # D2 (down, 1440 min) and U2 (up, 150 min) at NOW; a second earlier D2 has 1439:59 min and is not.
    def expired(now: datetime) -> dict[str, float]:
        found = expected_metrics(LOG, now=now)
        return {
            dict(labels)["facility"]: value
            for (name, labels), value in found.items()
            if name == "medalliance_referrals_expired"
        }

    assert expired(NOW) == {THC: 1, CLINIC: 1, THC2: 1, OUT_OF_COUNTY: 1}
    assert expired(NOW - timedelta(seconds=1)) == {THC: 1, THC2: 1, OUT_OF_COUNTY: 1}


def test_an_acceptance_a_second_before_the_limit_is_not_late() -> None:
    log = [
        asked("r", THC, local("06:00"), "R", to_facility_id=PEOPLE),
        msg("a", "referral.accepted", PEOPLE, "2026-11-22T07:59:59+08:00", referral_id="R"),
    ]
    found = referral_series(expected_metrics(log, now=NOW))
    assert not any(name.endswith("accepted_late_total") for name, _ in found)
    assert found[series("referral_stage_seconds_sum", direction="up", stage="accepted")] == 7199


def test_the_receiver_s_first_acceptance_names_the_ward() -> None:
    log = [
        asked("r1", THC, local("08:00"), "W1", to_facility_id=PEOPLE, target_ward_id="cardiology"),
        # TCM is not the receiver: its ward changes nothing. The people's hospital's first acceptance
        # names the ICU; its second, the neurology ward, comes too late to matter.
        referral("a1", "accepted", TCM, local("08:05"), "W1", target_ward_id="rehabilitation"),
        referral("a2", "accepted", PEOPLE, local("08:10"), "W1", target_ward_id="icu"),
        referral("a3", "accepted", PEOPLE, local("08:01"), "W1", target_ward_id="neurology"),
        asked("r2", THC, local("08:00"), "W2", to_facility_id=PEOPLE, target_ward_id="cardiology"),
        referral("b1", "accepted", PEOPLE, local("08:10"), "W2"),  # names no ward: the request's stays
        referral("b2", "accepted", PEOPLE, local("08:20"), "W2", target_ward_id="icu"),
        asked("r3", THC, local("08:00"), "W3", to_facility_id=PEOPLE),
        referral("c1", "accepted", PEOPLE, local("08:10"), "W3", target_ward_id="nicu"),
    ]
    found = referrals(accepted_events(log, now=NOW))
    assert {rid: r.ward for rid, r in found.items()} == {"W1": "icu", "W2": "cardiology", "W3": "nicu"}
    # The first acceptance in the log (TCM's, 5 min) fixes the stage's time, whoever sent it.
    assert found["W1"].seconds_to("accepted") == 300


def test_each_ending_counts_once_and_only_with_its_request() -> None:
    log = [
        referral("c0", "cancelled", THC, local("08:30"), "C", reason="family"),  # before its request
        asked("r", THC, local("08:00"), "C", to_facility_id=PEOPLE),
        referral("c1", "cancelled", THC, local("08:40"), "C", reason="again"),  # a second: once only
        referral("c1", "cancelled", THC, local("08:40"), "C", reason="again"),  # a duplicate
    ]
    found = referral_series(expected_metrics(log, now=NOW))
    assert found[series("referrals_ended_total", direction="up", outcome="cancelled")] == 1
    assert not any(name.endswith(("_pending", "_expired")) for name, _ in found)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# Midnight of 1 December in the alliance is 16:00 UTC on 30 November.
MONTH_START: Final = day("2026-12-01T00:00:30+08:00")
MONTH_LOG: Final = [
    msg("v1", "visit.outpatient", THC, "2026-11-30T23:59:59+08:00"),  # last month
    msg("v2", "visit.outpatient", THC, "2026-11-30T16:00:00+00:00"),  # 00:00 on 1 December, local
    msg("v3", "ed.arrival", PEOPLE, "2026-12-01T00:00:10+08:00", visit_id="A", arrival_mode="walk_in"),
    asked("r1", THC, "2026-11-30T23:50:00+08:00", "R1", to_facility_id=PEOPLE),  # last month
    asked("r2", CLINIC, "2026-11-30T16:00:00Z", "R2", to_facility_id=THC),  # this month and day
]  # fmt: skip


def periods(expected: Expected) -> Expected:
    wanted = ("visits_today", "visits_month", "referrals_today", "referrals_month")
    return {key: value for key, value in expected.items() if key[0].removeprefix("medalliance_") in wanted}


def test_a_month_boundary_in_the_alliance_zone() -> None:
    expected = expected_metrics(MONTH_LOG, now=MONTH_START)
    assert periods(expected) == {
        series("visits_today", facility=THC, kind="outpatient"): 1,
        series("visits_month", facility=THC, kind="outpatient"): 1,
        series("visits_today", facility=PEOPLE, kind="emergency"): 1,
        series("visits_month", facility=PEOPLE, kind="emergency"): 1,
        series("referrals_today", direction="up", from_facility=CLINIC, to_facility=THC): 1,
        series("referrals_month", direction="up", from_facility=CLINIC, to_facility=THC): 1,
    }
    assert not same_local_month(day("2025-12-01T12:00:00+08:00"), MONTH_START)  # a year apart
    # A second before midnight everything is of 30 November, the day and the month.
    before = expected_metrics(MONTH_LOG[:1] + MONTH_LOG[3:4], now=day("2026-11-30T23:59:59+08:00"))
    assert periods(before) == {
        series("visits_today", facility=THC, kind="outpatient"): 1,
        series("visits_month", facility=THC, kind="outpatient"): 1,
        series("referrals_today", direction="up", from_facility=THC, to_facility=PEOPLE): 1,
        series("referrals_month", direction="up", from_facility=THC, to_facility=PEOPLE): 1,
    }


def test_a_local_midnight_inside_the_month() -> None:
    log = [
        msg("v1", "visit.outpatient", THC, "2026-11-21T23:59:00+08:00"),
        msg("v2", "visit.outpatient", THC, "2026-11-21T16:00:00Z"),  # 00:00 on the 22nd, local
        asked("r1", THC, "2026-11-21T23:59:00+08:00", "R1", to_facility_id=PEOPLE),
    ]
    assert periods(expected_metrics(log, now=day("2026-11-22T00:00:30+08:00"))) == {
        series("visits_today", facility=THC, kind="outpatient"): 1,
        series("visits_month", facility=THC, kind="outpatient"): 2,
        series("referrals_month", direction="up", from_facility=THC, to_facility=PEOPLE): 1,
    }


def test_the_indicators_of_the_hand_worked_log() -> None:
    expected = expected_metrics(LOG, now=NOW)
    assert referral_counts(expected, "today") == {"up": 4, "down": 1, "lateral": 2, "external": 1}
    assert referral_counts(expected, "month") == {"up": 4, "down": 3, "lateral": 2, "external": 3}
    assert down_up_ratio(expected, "today") == 0.25 and down_up_ratio(expected, "month") == 0.75
    # up: U3 7200 s and X 0 s; down: D3 600 s; external: E1 1200 s.
    assert mean_time_to_accept(expected) == {"up": 3600, "down": 600, "external": 1200}
    assert arrived_accepted_share(expected) == {"up": 0.5, "down": 0.0, "external": 1.0}
    assert primary_care_share(expected, "today") is None  # no visit in this log


def test_the_primary_care_share_today_and_month_to_date() -> None:
    log = [
        *(msg(f"t{i}", "visit.outpatient", THC, local("08:00")) for i in range(3)),
        msg("c1", "ed.arrival", CLINIC, local("08:10"), visit_id="A", arrival_mode="walk_in"),
        *(msg(f"p{i}", "visit.outpatient", PEOPLE, local("09:00")) for i in range(4)),
        *(msg(f"y{i}", "visit.outpatient", THC, local("09:00", day=21)) for i in range(2)),
    ]
    expected = expected_metrics(log, now=NOW)
    assert primary_care_share(expected, "today") == 4 / 8  # THC 3 + clinic 1 of 8
    assert primary_care_share(expected, "month") == 6 / 10  # yesterday's 2 at THC too
    assert down_up_ratio(expected, "month") is None and mean_time_to_accept(expected) == {}


# --- decoding --------------------------------------------------------------------------------------

_REQUEST: Final = {
    "event_id": "f", "type": "referral.requested", "schema_version": 1, "facility_id": THC,
    "occurred_at": local("09:00"), "referral_id": "f-1", "reason": "recovery", "department": "心内科",
    "to_facility_id": PEOPLE, "target_ward_id": "cardiology",
}  # fmt: skip
_OUTSIDE: Final = {**_REQUEST, "to_facility_id": None, "target_ward_id": None, **outside("out_of_county")}
_ACCEPT: Final = {
    "event_id": "f", "type": "referral.accepted", "schema_version": 1, "facility_id": PEOPLE,
    "occurred_at": local("09:00"), "referral_id": "f-1", "target_ward_id": "icu",
}  # fmt: skip
_SV: Final = "schema_violation"


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`base` changed; a value of ... leaves the field out."""
    return {k: v for k, v in {**base, **changes}.items() if v is not ...}


# (what it shows, the message, its feed, the reason: None for accepted)
DECODING: Final = [
    ("a request to an alliance facility and a ward of it", _REQUEST, "requests", None),
    ("null outside fields are absent", _with(_REQUEST, to_external_code=None, to_external_scope=None),
     "requests", None),
    ("no ward, to a village clinic", _with(_REQUEST, to_facility_id=CLINIC, target_ward_id=...), "requests",
     None),
    ("outside by code and scope", _OUTSIDE, "requests", None),
    ("outside, null fields left out", _with(_OUTSIDE, to_facility_id=..., target_ward_id=...), "requests",
     None),
    ("an acceptance into a ward of its own", _ACCEPT, "requests", None),
    ("an acceptance naming no ward", _with(_ACCEPT, target_ward_id=...), "requests", None),
    *((f"reason {r}", _with(_REQUEST, reason=r), "requests", None) for r in REFERRAL_REASONS),
    ("no destination", _with(_REQUEST, to_facility_id=..., target_ward_id=...), "requests", _SV),
    ("two destinations", {**_REQUEST, **outside("in_county")}, "requests", _SV),
    ("a scope without a code", _with(_REQUEST, to_external_scope="in_county"), "requests", _SV),
    ("a code without a scope", _with(_OUTSIDE, to_external_scope=None), "requests", _SV),
    ("a ward with an outside destination", _with(_OUTSIDE, target_ward_id="icu"), "requests", _SV),
    ("a scope of no list", _with(_OUTSIDE, to_external_scope="abroad"), "requests", _SV),
    ("a code starting with a dash", _with(_OUTSIDE, to_external_code="-GZ"), "requests", _SV),
    ("a code with a space", _with(_OUTSIDE, to_external_code="GZ 01"), "requests", _SV),
    ("an empty code", _with(_OUTSIDE, to_external_code=""), "requests", _SV),
    ("a code of 65 characters", _with(_OUTSIDE, to_external_code="G" * 65), "requests", _SV),
    ("a code of 64 characters", _with(_OUTSIDE, to_external_code="G" * 64), "requests", None),
    ("a reason of no list", _with(_REQUEST, reason="boredom"), "requests", _SV),
    ("an empty department", _with(_REQUEST, department=""), "requests", _SV),
    ("a department of 65 characters", _with(_REQUEST, department="d" * 65), "requests", _SV),
    ("no department", _with(_REQUEST, department=...), "requests", _SV),
    ("no referral_id", _with(_REQUEST, referral_id=...), "requests", _SV),
    ("a referral_id of 129 characters", _with(_REQUEST, referral_id="f" * 129), "requests", _SV),
    ("an empty target ward", _with(_ACCEPT, target_ward_id=""), "requests", _SV),
    ("a target ward that is a number", _with(_REQUEST, target_ward_id=7), "requests", _SV),
    ("a rejection without its reason", _with(_ACCEPT, type="referral.rejected", target_ward_id=...),
     "requests", _SV),
    ("a cancellation reason of 501 characters", _with(_ACCEPT, type="referral.cancelled", target_ward_id=...,
     reason="r" * 501), "requests", _SV),
    ("a referral on the visits topic", _REQUEST, "visits", "unknown_type"),
    ("a stage of no list", _with(_ACCEPT, type="referral.transferred"), "requests", "unknown_type"),
    ("a field error beats an unknown destination", _with(_REQUEST, to_facility_id="nowhere", reason="x"),
     "requests", _SV),
    ("an unknown destination", _with(_REQUEST, to_facility_id="nowhere"), "requests", "unknown_facility"),
    ("an unknown sender", _with(_OUTSIDE, facility_id="nowhere"), "requests", "unknown_facility"),
    ("an unknown destination beats its ward", _with(_REQUEST, to_facility_id="nowhere",
     target_ward_id="nowhere"), "requests", "unknown_facility"),
    ("the sender's ward, not the receiver's", _with(_REQUEST, target_ward_id="maternity"), "requests",
     "unknown_ward"),
    ("a ward at a village clinic", _with(_REQUEST, to_facility_id=CLINIC), "requests", "unknown_ward"),
    ("an acceptance into another's ward", _with(_ACCEPT, facility_id=THC), "requests", "unknown_ward"),
    ("a bad ward beats a future time", _with(_REQUEST, target_ward_id="maternity",
     occurred_at=local("11:00")), "requests", "unknown_ward"),
    ("a request an hour ahead", _with(_REQUEST, occurred_at=local("11:00")), "requests", "future_timestamp"),
    ("a request 8 days old", _with(_REQUEST, occurred_at=local("09:00", day=14)), "requests", "too_old"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("message", "feed", "reason"), [c[1:] for c in DECODING], ids=[c[0] for c in DECODING]
)
def test_the_reference_decodes_each_referral_case(
    message: dict[str, Any], feed: str, reason: str | None
) -> None:
    verdict = judge(orjson.dumps(message), feed, now=NOW)
    assert verdict.reason == reason
    if reason is not None and message.get("facility_id") != "nowhere":
        assert verdict.facility == message["facility_id"]  # counted under the publisher


_REGISTRY: Final = load_registry()


@pytest.mark.parametrize(
    ("message", "feed", "reason"), [c[1:] for c in DECODING], ids=[c[0] for c in DECODING]
)
def test_the_product_decodes_each_referral_case_alike(
    message: dict[str, Any], feed: str, reason: str | None
) -> None:
    # The same hand-typed reasons, held against schemas/decode.py: a disagreement is one of the two.
    outcome = decode(orjson.dumps(message), feed, registry=_REGISTRY, now=NOW)  # type: ignore[arg-type]
    assert (outcome.reason if isinstance(outcome, Rejection) else None) == reason
