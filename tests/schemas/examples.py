"""One valid wire example per event type, written by hand from EVENTS.md (not from the models)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

CST: Final = timezone(timedelta(hours=8))
NOW: Final = datetime(2026, 11, 22, 8, 30, tzinfo=CST)
AT: Final = "2026-11-22T08:15:00+08:00"


def _event(event_type: str, facility: str = "yx-ch-people", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"ex-{event_type}",
        "type": event_type,
        "schema_version": 1,
        "facility_id": facility,
        "occurred_at": AT,
        **fields,
    }


VALID: Final[dict[str, dict[str, Any]]] = {
    "heartbeat": _event("heartbeat", feed="beds", sent_at="2026-11-22T00:15:01Z", source="HIS"),
    "bed.census": _event("bed.census", ward_id="icu", beds_staffed=16, beds_occupied=18),
    "bed.admit": _event("bed.admit", ward_id="icu", encounter_id="enc-1"),
    "bed.discharge": _event("bed.discharge", ward_id="icu", encounter_id="enc-1"),
    "bed.transfer": _event("bed.transfer", ward_id="icu", to_ward_id="cardiology", encounter_id="enc-1"),
    "bed.cancel": _event("bed.cancel", cancelled_event_id="ex-bed.admit"),
    "visit.outpatient": _event("visit.outpatient", "yx-vc-zhigong-01", department="general"),
    "ed.arrival": _event("ed.arrival", visit_id="v-1", arrival_mode="ambulance"),
    "ed.triage": _event("ed.triage", visit_id="v-1", level=2),
    "ed.departure": _event("ed.departure", visit_id="v-1", disposition="left_without_being_seen"),
    "request.submitted": _event(
        "request.submitted",
        "yx-thc-shaba",
        request_id="r-1",
        category="stroke",
        to_facility_id="yx-ch-people",
    ),
    "request.accepted": _event("request.accepted", request_id="r-1"),
    "request.rejected": _event("request.rejected", request_id="r-1", reason="no ICU bed"),
    "request.dispatched": _event("request.dispatched", request_id="r-1"),
    "request.arrived": _event("request.arrived", request_id="r-1"),
    "request.completed": _event("request.completed", request_id="r-1"),
    "request.cancelled": _event("request.cancelled", "yx-thc-shaba", request_id="r-1", reason="stabilised"),
    "case.opened": _event(
        "case.opened", case_id="c-1", category="chest_pain", arrival_mode="ambulance_120",
        door_facility_id="yx-ch-people",
    ),
    "case.milestone": _event(
        "case.milestone", case_id="c-1", category="chest_pain", milestone="diagnosis", diagnosis="stemi",
        bypassed_ed=True,
    ),
    "case.closed": _event("case.closed", case_id="c-1"),
    "referral.requested": _event(
        "referral.requested", "yx-thc-shaba", referral_id="f-1", to_facility_id="yx-ch-people",
        reason="beyond_capability", department="cardiology", target_ward_id="cardiology",
    ),
    "referral.accepted": _event("referral.accepted", referral_id="f-1", target_ward_id="icu"),
    "referral.rejected": _event("referral.rejected", referral_id="f-1", reason="no bed this week"),
    "referral.arrived": _event("referral.arrived", referral_id="f-1"),
    "referral.returned": _event("referral.returned", referral_id="f-1"),
    "referral.closed": _event("referral.closed", referral_id="f-1"),
    "referral.cancelled": _event("referral.cancelled", "yx-thc-shaba", referral_id="f-1", reason="improved"),
}  # fmt: skip
# A referral to a hospital outside the alliance: its code and scope, never a facility_id.
EXTERNAL_REFERRAL: Final = _event(
    "referral.requested", "yx-ch-people", referral_id="f-2", to_external_code="GD-GZ-0001",
    to_external_scope="out_of_county", reason="specialist", department="cardiac surgery",
)  # fmt: skip
FEED_OF: Final[dict[str, str]] = {
    **{t: "beds" for t in VALID if t.startswith("bed.")},
    **{t: "visits" for t in VALID if t.startswith(("visit.", "ed."))},
    **{t: "requests" for t in VALID if t.startswith(("request.", "case.", "referral."))},
    "heartbeat": "beds",
}
