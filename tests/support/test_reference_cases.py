"""The case oracle tested on a log worked out by hand (NOW 10:00 in the alliance).

Case "ca", a walk-in primary-PCI STEMI, closed: FMC 08:00 -> ECG 08:12 is 12 min (720 s, over 10);
ECG -> STEMI 08:20 is 8 min (480 s, within); door 08:00 -> wire 09:25 is 85 min (5100 s, within);
a second first ECG at 08:05 (a new id) changes nothing, a duplicate id neither; it bypassed the CCU.
Case "cb", an ambulance ischemic stroke for IV thrombolysis, open: last known well 07:00, door
09:12; at 10:00 door -> needle has run 48 min = 2880 s, exactly 80% of 60 min (due soon), past 45
min (overdue), and onset -> needle 3 h = 10800 s, under 80% of 4.5 h = 12960 s (ok). A chest-pain
needle on that stroke case counts for nothing; a stroke wire_crossed is rejected.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from tests.support.reference import Published
from tests.support.reference_cases import case_figures
from tests.support.reference_decode import judge
from tests.support.test_reference import NOW, PEOPLE, local

_THC = "yx-thc-zhigong"


def case_msg(event_id: str, kind: str, case_id: str, clock: str, **fields: Any) -> Published:
    # A `facility_id` among the fields (where a milestone happened) overrides the center's.
    event = {"event_id": event_id, "type": kind, "schema_version": 1, "facility_id": PEOPLE,
             "occurred_at": local(clock), "case_id": case_id, **fields}  # fmt: skip
    return Published("requests", case_id.encode(), orjson.dumps(event), None)


def milestone(event_id: str, case_id: str, clock: str, name: str, category: str, **extra: Any) -> Published:
    return case_msg(event_id, "case.milestone", case_id, clock, category=category, milestone=name, **extra)


CHEST, STROKE = "chest_pain", "stroke"
LOG = [
    case_msg("a1", "case.opened", "ca", "08:00", category=CHEST, arrival_mode="walk_in",
             door_facility_id=PEOPLE),
    milestone("a2", "ca", "08:00", "door", CHEST),
    milestone("a3", "ca", "08:00", "first_medical_contact", CHEST),
    milestone("a4", "ca", "08:12", "first_ecg", CHEST),
    milestone("a4", "ca", "08:01", "first_ecg", CHEST),  # a duplicate id: ignored
    milestone("a5", "ca", "08:05", "first_ecg", CHEST),  # a later event of the milestone: the first fixed it
    milestone("a6", "ca", "08:20", "diagnosis", CHEST, diagnosis="stemi"),
    milestone("a7", "ca", "08:22", "reperfusion_strategy", CHEST, strategy="primary_pci"),
    milestone("a8", "ca", "09:25", "wire_crossed", CHEST, bypassed_ccu=True, bypassed_ed=False),
    case_msg("a9", "case.closed", "ca", "09:50"),
    case_msg("b1", "case.opened", "cb", "09:12", category=STROKE, arrival_mode="ambulance_120",
             door_facility_id=PEOPLE),
    milestone("b2", "cb", "09:12", "door", STROKE),
    milestone("b3", "cb", "07:00", "last_known_well", STROKE),
    milestone("b4", "cb", "09:30", "diagnosis", STROKE, diagnosis="ischemic_stroke"),
    milestone("b5", "cb", "09:35", "reperfusion_strategy", STROKE, strategy="iv_thrombolysis"),
    milestone("b6", "cb", "09:40", "needle", CHEST),  # another center's category on this case
    milestone("b7", "cb", "09:41", "wire_crossed", STROKE),  # not a stroke milestone: rejected
]  # fmt: skip


def test_the_hand_worked_log() -> None:
    figures = case_figures(LOG, now=NOW)
    assert dict(figures.intervals) == {
        "fmc_to_ecg": [(720.0, False)],
        "ecg_to_diagnosis": [(480.0, True)],
        "door_to_wire": [(5100.0, True)],
    }
    assert figures.compliance("fmc_to_ecg") == 0.0 and figures.compliance("door_to_wire") == 1.0
    assert figures.compliance("cath_lab_activation") is None
    assert (
        dict(figures.bypass) == {"stemi_walk_in_bypass": [True]}
        and figures.bypass_share("stemi_walk_in_bypass") == 1
    )
    assert figures.clocks == Counter(
        {("door_to_needle", "due_soon"): 1, ("door_to_needle_45", "overdue"): 1, ("onset_to_needle", "ok"): 1}
    )


def test_the_oracle_rejects_a_milestone_of_another_center() -> None:
    assert judge(LOG[-1].value, "requests", now=NOW).reason == "milestone_not_in_category"
    assert judge(LOG[-2].value, "requests", now=NOW).reason is None


def test_without_its_opening_a_case_counts_for_nothing() -> None:
    figures = case_figures([m for m in LOG if b'"case.opened"' not in m.value], now=NOW)
    assert not figures.intervals and not figures.clocks and not figures.bypass


def test_a_sending_hospital_door_in_door_out() -> None:
    # A transferred STEMI: door-in 08:00 and door-out 08:40 at the town health center: 40 min, over 30.
    log = [
        case_msg("t1", "case.opened", "r-9", "08:50", category=CHEST, arrival_mode="transfer",
                 door_facility_id=PEOPLE),
        milestone("t2", "r-9", "08:10", "diagnosis", CHEST, diagnosis="stemi"),
        milestone("t3", "r-9", "08:00", "door_in", CHEST, facility_id=_THC),
        milestone("t4", "r-9", "08:40", "door_out", CHEST, facility_id=_THC),
    ]  # fmt: skip
    assert case_figures(log, now=NOW).intervals == {"door_in_door_out": [(2400.0, False)]}
