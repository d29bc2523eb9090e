"""Simulated clinical cases of the five centers: each patient's milestones, with realistic breaches.

Walk-ins and 120 ambulance arrivals come to each center's hospital at a few a day per center; every
transfer request whose patient arrives becomes a case too (case_id = request_id, door-in and
door-out at the sending hospital). Delays are log-normal around what centers achieve, so a share of
cases misses each standard, roughly as QC reports show (FMC -> ECG ~15% over 10 min, door -> wire
~20% over 90 min, stroke door -> needle ~20% over 60 min, decision -> delivery ~10% over 30 min).

    >>> flow = CaseFlow(registry, rng, requests)    # requests.on_arrival is set to flow.transfer
    >>> flow.step(agenda, chunk_start, CHUNK)
    >>> flow.late_balloon(agenda, hospital, door=moment, wire_after=timedelta(minutes=100))
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from schemas.registry import Registry
from streams.simulate.clock import REQUEST_RHYTHM, local, poisson, rhythm, weighted_choice
from streams.simulate.requests import RequestFlow, TransferArrival
from streams.simulate.timeline import Agenda

SOURCE: Final = "center-platform"
# Walk-in and ambulance cases per center hospital and hour (transfers come on top, from requests).
_CASES_PER_HOUR: Final = {
    "chest_pain": 0.30, "stroke": 0.25, "trauma": 0.35, "critical_maternal": 0.06, "critical_neonatal": 0.05,
}  # fmt: skip
_ARRIVALS: Final = (("walk_in", 0.55), ("ambulance_120", 0.45))
_CHEST_DIAGNOSES: Final = (
    ("stemi", 0.35), ("nstemi", 0.25), ("unstable_angina", 0.15), ("aortic_dissection", 0.03),
    ("pulmonary_embolism", 0.02), ("non_cardiac", 0.20),
)  # fmt: skip
_STEMI_STRATEGIES: Final = (("primary_pci", 0.80), ("thrombolysis", 0.10), ("conservative", 0.10))
_STROKE_DIAGNOSES: Final = (
    ("ischemic_stroke", 0.75), ("hemorrhagic_stroke", 0.15), ("tia", 0.05), ("stroke_mimic", 0.05),
)  # fmt: skip
_STROKE_STRATEGIES: Final = (
    ("iv_thrombolysis", 0.35), ("thrombectomy", 0.10), ("bridging", 0.10), ("conservative", 0.45),
)  # fmt: skip
_DELIVERIES: Final = (("emergency_caesarean", 0.6), ("vaginal_delivery", 0.3), ("instrumental_delivery", 0.1))
# (median minutes, sigma) of each step; exp(sigma * z) spreads it, P(over) follows from the median.
_AMBULANCE_RIDE: Final = (25.0, 0.3)
_FMC_TO_ECG: Final = (6.0, 0.5)  # P(> 10 min) ~ 15%
_ECG_TO_DIAGNOSIS: Final = (5.0, 0.5)
_CATH_LAB_READY: Final = (20.0, 0.35)  # P(> 30 min) ~ 12%
_DOOR_TO_WIRE: Final = (70.0, 0.3)  # P(> 90 min) ~ 20%
_DOOR_TO_NEEDLE_STEMI: Final = (25.0, 0.35)
_ONSET_TO_DOOR: Final = (120.0, 0.5)
_DOOR_TO_CT: Final = (18.0, 0.45)
_DOOR_TO_NEEDLE: Final = (45.0, 0.35)  # P(> 60 min) ~ 20%
_DOOR_TO_PUNCTURE: Final = (75.0, 0.3)  # P(> 90 min) ~ 27%
_DECISION_TO_DELIVERY: Final = (20.0, 0.35)  # P(> 30 min) ~ 12%
_DOOR_TO_NICU: Final = (20.0, 0.4)
_BYPASS_BOTH: Final = 0.40  # ambulance-borne primary-PCI STEMI straight to the cath lab
_BYPASS_CCU: Final = 0.60  # self-presenting ones past the CCU
_STAY: Final = (120.0, 0.4)  # the last milestone to case.closed

Plan = list[tuple[str, float, dict[str, Any]]]  # (milestone, minutes from the door, extra fields)


@dataclass
class CaseFlow:
    registry: Registry
    rng: random.Random
    requests: RequestFlow

    def __post_init__(self) -> None:
        self.requests.on_arrival = self.transfer

    def step(self, agenda: Agenda, start: datetime, length: timedelta) -> None:
        hours = length.total_seconds() / 3600 * rhythm(REQUEST_RHYTHM, local_hour=local(start).hour)
        for unit in self.requests.units:
            for category, per_hour in _CASES_PER_HOUR.items():
                for _ in range(poisson(self.rng, per_hour * hours)):
                    first = start + timedelta(seconds=self.rng.randint(1, int(length.total_seconds()) - 1))
                    arrival = str(weighted_choice(self.rng, _ARRIVALS))
                    # A 120 patient is first seen in the ambulance (its hospital's), before the door.
                    fmc = -self._draw(*_AMBULANCE_RIDE) if arrival == "ambulance_120" else 0.0
                    plan = self._plan(category, arrival, fmc)
                    # The earliest milestone (an onset, a first contact) falls in this chunk.
                    door = first - timedelta(minutes=min(minutes for _, minutes, _ in plan))
                    hospital = self.requests.destination(unit, category)
                    self.case(
                        agenda, f"c-{self.rng.getrandbits(48):012x}", category, arrival, hospital, door, plan
                    )

    def transfer(self, agenda: Agenda, arrival: TransferArrival) -> None:
        """The case of a transferred patient: door-in and door-out at the sender, then the center."""
        door = arrival.arrived
        door_in = max(_at(agenda.floor), arrival.submitted - timedelta(minutes=self.rng.uniform(5, 20)))
        door_out = max(door_in, door - timedelta(minutes=self.rng.uniform(10, 25)))
        plan = self._plan(arrival.category, "transfer", _minutes_between(door, door_in))
        plan += [
            ("door_in", _minutes_between(door, door_in), {}),
            ("door_out", _minutes_between(door, door_out), {}),
        ]
        self.case(agenda, arrival.request_id, arrival.category, "transfer", arrival.receiver, door, plan,
                  sender=arrival.sender)  # fmt: skip

    def case(
        self,
        agenda: Agenda,
        case_id: str,
        category: str,
        arrival: str,
        hospital: str,
        door: datetime,
        plan: Plan,
        *,
        sender: str | None = None,
    ) -> None:
        """Schedule a whole case: `plan` is its milestones in minutes from the door; those before the
        door happen at the `sender` when there is one (a transfer), at the hospital otherwise."""
        body = {"case_id": case_id, "source": SOURCE}
        moments = [
            (name, max(_at(agenda.floor), door + timedelta(minutes=m)), extra) for name, m, extra in plan
        ]
        opened = min(door, *(moment for name, moment, _ in moments if name == "first_medical_contact"))
        agenda.add(opened, {**body, "type": "case.opened", "facility_id": hospital, "category": category,
                            "arrival_mode": arrival, "door_facility_id": hospital})  # fmt: skip
        for milestone, moment, extra in moments:
            where = sender if sender is not None and moment < door else hospital
            agenda.add(moment, {**body, "type": "case.milestone", "facility_id": where, "category": category,
                                "milestone": milestone, **extra})  # fmt: skip
        last = max(moment for _, moment, _ in moments)
        agenda.add(last + self._minutes(*_STAY), {**body, "type": "case.closed", "facility_id": hospital})

    def late_balloon(self, agenda: Agenda, hospital: str, *, door: datetime, wire_after: timedelta) -> str:
        """A primary-PCI STEMI by 120 ambulance whose wire crosses `wire_after` the door (d2b-breach)."""
        case_id = f"c-{self.rng.getrandbits(48):012x}"
        plan: Plan = [
            ("first_medical_contact", 0, {}), ("door", 0, {}), ("first_ecg", 4, {}),
            ("diagnosis", 9, {"diagnosis": "stemi"}), ("cath_lab_activated", 11, {}),
            ("reperfusion_strategy", 12, {"strategy": "primary_pci"}), ("cath_lab_ready", 35, {}),
            ("wire_crossed", wire_after.total_seconds() / 60, {"bypassed_ed": False, "bypassed_ccu": False}),
        ]  # fmt: skip
        self.case(agenda, case_id, "chest_pain", "ambulance_120", hospital, door, plan)
        return case_id

    def _plan(self, category: str, arrival: str, fmc: float) -> Plan:
        """Milestones in minutes from the door; `fmc` is the first medical contact's (<= 0)."""
        plan: Plan = [("door", 0, {}), ("first_medical_contact", fmc, {})]
        if category == "chest_pain":
            return plan + self._chest_pain(arrival, fmc)
        if category == "stroke":
            return plan + self._stroke()
        if category == "trauma":
            return [*plan, ("ct", self._draw(*_DOOR_TO_CT), {})]
        if category == "critical_maternal":
            return plan + self._maternal()
        return [*plan, ("resuscitation", 2.0, {}), ("nicu_admission", self._draw(*_DOOR_TO_NICU), {})]

    def _chest_pain(self, arrival: str, fmc: float) -> Plan:
        ecg = fmc + self._draw(*_FMC_TO_ECG)
        diagnosed = ecg + self._draw(*_ECG_TO_DIAGNOSIS)
        diagnosis = str(weighted_choice(self.rng, _CHEST_DIAGNOSES))
        plan: Plan = [("symptom_onset", fmc - self._draw(*_ONSET_TO_DOOR), {}), ("first_ecg", ecg, {}),
                      ("diagnosis", diagnosed, {"diagnosis": diagnosis})]  # fmt: skip
        if arrival != "walk_in":
            plan.append(("ecg_transmitted", ecg + 2, {}))
        if diagnosis != "stemi":
            return plan
        strategy = str(weighted_choice(self.rng, _STEMI_STRATEGIES))
        plan.append(("reperfusion_strategy", diagnosed + 3, {"strategy": strategy}))
        if strategy == "thrombolysis":
            plan.append(("needle", max(diagnosed + 5, self._draw(*_DOOR_TO_NEEDLE_STEMI)), {}))
        elif strategy == "primary_pci":
            ready = diagnosed + 2 + self._draw(*_CATH_LAB_READY)
            wire = max(ready + 5, self._draw(*_DOOR_TO_WIRE))
            plan += [("cath_lab_activated", diagnosed + 2, {}), ("cath_lab_ready", ready, {}),
                     ("wire_crossed", wire, self._bypass(arrival))]  # fmt: skip
        return plan

    def _bypass(self, arrival: str) -> dict[str, bool]:
        if arrival == "walk_in":
            return {"bypassed_ed": False, "bypassed_ccu": self.rng.random() < _BYPASS_CCU}
        both = self.rng.random() < _BYPASS_BOTH
        return {"bypassed_ed": both, "bypassed_ccu": both}

    def _stroke(self) -> Plan:
        ct = self._draw(*_DOOR_TO_CT)
        diagnosis = str(weighted_choice(self.rng, _STROKE_DIAGNOSES))
        plan: Plan = [("last_known_well", -self._draw(*_ONSET_TO_DOOR), {}), ("ct", ct, {}),
                      ("diagnosis", ct + 5, {"diagnosis": diagnosis})]  # fmt: skip
        if diagnosis != "ischemic_stroke":
            return plan
        strategy = str(weighted_choice(self.rng, _STROKE_STRATEGIES))
        plan.append(("reperfusion_strategy", ct + 8, {"strategy": strategy}))
        if strategy in ("iv_thrombolysis", "bridging"):
            plan.append(("needle", max(ct + 10, self._draw(*_DOOR_TO_NEEDLE)), {}))
        if strategy in ("thrombectomy", "bridging"):
            plan.append(("puncture", max(ct + 20, self._draw(*_DOOR_TO_PUNCTURE)), {}))
        return plan

    def _maternal(self) -> Plan:
        decision = self._draw(40.0, 0.5)
        strategy = str(weighted_choice(self.rng, _DELIVERIES))
        return [("decision_to_deliver", decision, {"strategy": strategy}),
                ("delivery", decision + self._draw(*_DECISION_TO_DELIVERY), {})]  # fmt: skip

    def _draw(self, median_minutes: float, sigma: float) -> float:
        return median_minutes * math.exp(self.rng.gauss(0, sigma))

    def _minutes(self, median_minutes: float, sigma: float) -> timedelta:
        return timedelta(minutes=self._draw(median_minutes, sigma))


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(max(epoch, 0.0), UTC)


def _minutes_between(door: datetime, moment: datetime) -> float:
    return (moment - door).total_seconds() / 60
