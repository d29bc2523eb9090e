"""Simulated wards: admissions, discharges, transfers, corrections and hourly censuses.

Each ward keeps its patients and pulls its occupancy back towards a target (county hospitals
80-87%, health centers 60-80%) by making discharges likelier the fuller it is, so a day of
traffic stays in a plausible band while still swinging with the morning discharge round.

    >>> wards = WardFlow.for_registry(registry, rng)
    >>> wards.census(agenda, chunk_start)      # one bed.census per ward
    >>> wards.step(agenda, chunk_start, CHUNK) # five minutes of bed events
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from schemas.registry import Facility, Registry
from streams.simulate.clock import ADMIT_RHYTHM, DISCHARGE_RHYTHM, local, poisson, rhythm
from streams.simulate.timeline import Agenda

# Mean length of stay; 5 days gives a county ward of 60 beds about 10 admissions a day.
_LENGTH_OF_STAY_HOURS: Final = 5 * 24.0
_COUNTY_TARGET: Final = (0.80, 0.87)
_TOWN_TARGET: Final = (0.60, 0.80)
# How hard the discharge rate pulls occupancy back to the target (exponent on occupied/target).
_RESTORING_POWER: Final = 6
_TRANSFER_SHARE: Final = 0.08  # transfers per discharge
_CORRECTION_SHARE: Final = 0.01  # admissions/discharges entered in error and cancelled (A11/A13)
_CORRIDOR_BEDS: Final = 2  # admissions beyond staffed beds stop here outside a surge
SOURCE: Final = "HIS"


@dataclass
class Ward:
    facility_id: str
    ward_id: str
    beds: int
    target: float
    patients: list[str] = field(default_factory=list)
    frozen: bool = False  # a scenario holds this ward's occupancy itself

    @property
    def occupied(self) -> int:
        return len(self.patients)


@dataclass
class WardFlow:
    rng: random.Random
    wards: list[Ward]

    @classmethod
    def for_registry(cls, registry: Registry, rng: random.Random) -> WardFlow:
        wards = []
        for facility in registry.facilities.values():
            low, high = _COUNTY_TARGET if facility.level == "county_hospital" else _TOWN_TARGET
            for ward in facility.wards.values():
                target = rng.uniform(low, high)
                ward_model = Ward(facility.id, ward.id, ward.beds, target)
                ward_model.patients = [_encounter(rng) for _ in range(round(target * ward.beds))]
                wards.append(ward_model)
        return cls(rng, wards)

    def find(self, facility_id: str, ward_id: str) -> Ward:
        return next(w for w in self.wards if w.facility_id == facility_id and w.ward_id == ward_id)

    def census(self, agenda: Agenda, moment: datetime, *, only: Ward | None = None) -> None:
        """Authoritative snapshots: exactly the patients the simulator holds at `moment`."""
        for ward in [only] if only else self.wards:
            agenda.add(moment, census_body(ward))

    def step(self, agenda: Agenda, start: datetime, length: timedelta) -> None:
        hours = length.total_seconds() / 3600
        hour = local(start).hour
        for ward in self.wards:
            if ward.frozen or ward.beds == 0:
                continue
            admit_mean = (
                ward.beds
                * ward.target
                / _LENGTH_OF_STAY_HOURS
                * hours
                * rhythm(ADMIT_RHYTHM, local_hour=hour)
            )
            pressure = (ward.occupied / (ward.target * ward.beds)) ** _RESTORING_POWER
            leave_mean = (
                ward.occupied / _LENGTH_OF_STAY_HOURS * hours * rhythm(DISCHARGE_RHYTHM, local_hour=hour)
            )
            for _ in range(poisson(self.rng, admit_mean)):
                self._admit(agenda, ward, self._moment(start, length))
            for _ in range(poisson(self.rng, leave_mean * pressure)):
                if self.rng.random() < _TRANSFER_SHARE:
                    self._transfer(agenda, ward, self._moment(start, length))
                else:
                    self._discharge(agenda, ward, self._moment(start, length))

    def fill_to(self, agenda: Agenda, ward: Ward, wanted: int, start: datetime, spread: timedelta) -> None:
        """Admit (or discharge) until the ward holds `wanted` patients, within `spread`."""
        while ward.occupied < wanted:
            self._admit(agenda, ward, self._moment(start, spread), correctable=False)
        while ward.occupied > wanted:
            self._discharge(agenda, ward, self._moment(start, spread), correctable=False)

    def _moment(self, start: datetime, length: timedelta) -> datetime:
        # Whole seconds, never on the chunk's first second: that is where censuses sit.
        return start + timedelta(seconds=self.rng.randint(1, int(length.total_seconds()) - 1))

    def _admit(self, agenda: Agenda, ward: Ward, moment: datetime, *, correctable: bool = True) -> None:
        if not ward.frozen and ward.occupied >= ward.beds + _CORRIDOR_BEDS:
            return
        encounter = _encounter(self.rng)
        event = agenda.add(moment, _bed_body("bed.admit", ward, encounter))
        if correctable and self.rng.random() < _CORRECTION_SHARE:
            self._cancel_later(agenda, ward, event["event_id"], moment)  # entered in error: never counted
            return
        ward.patients.append(encounter)

    def _discharge(self, agenda: Agenda, ward: Ward, moment: datetime, *, correctable: bool = True) -> None:
        if not ward.patients:
            return
        index = self.rng.randrange(len(ward.patients))
        event = agenda.add(moment, _bed_body("bed.discharge", ward, ward.patients[index]))
        if correctable and self.rng.random() < _CORRECTION_SHARE:
            self._cancel_later(agenda, ward, event["event_id"], moment)  # patient stays
            return
        ward.patients.pop(index)

    def _transfer(self, agenda: Agenda, ward: Ward, moment: datetime) -> None:
        others = [
            w
            for w in self.wards
            if w.facility_id == ward.facility_id and w is not ward and not w.frozen and w.occupied < w.beds
        ]
        if not others or not ward.patients:
            return self._discharge(agenda, ward, moment)
        target = self.rng.choice(others)
        encounter = ward.patients.pop(self.rng.randrange(len(ward.patients)))
        agenda.add(moment, {**_bed_body("bed.transfer", ward, encounter), "to_ward_id": target.ward_id})
        target.patients.append(encounter)
        return None

    def _cancel_later(self, agenda: Agenda, ward: Ward, event_id: str, moment: datetime) -> None:
        delay = timedelta(seconds=self.rng.randint(120, 1200))
        agenda.add(
            moment + delay,
            {
                "type": "bed.cancel",
                "facility_id": ward.facility_id,
                "cancelled_event_id": event_id,
                "source": SOURCE,
            },
        )


def census_body(ward: Ward) -> dict[str, object]:
    return {
        "type": "bed.census",
        "facility_id": ward.facility_id,
        "ward_id": ward.ward_id,
        "beds_staffed": ward.beds,
        "beds_occupied": ward.occupied,
        "source": SOURCE,
    }


def _bed_body(kind: str, ward: Ward, encounter: str) -> dict[str, object]:
    return {
        "type": kind,
        "facility_id": ward.facility_id,
        "ward_id": ward.ward_id,
        "encounter_id": encounter,
        "source": SOURCE,
    }


def _encounter(rng: random.Random) -> str:
    return f"enc-{rng.getrandbits(48):012x}"


def facility_occupancy(flow: WardFlow, facility: Facility) -> float:
    """Occupied / staffed beds of one facility (for progress output)."""
    wards = [w for w in flow.wards if w.facility_id == facility.id]
    beds = sum(w.beds for w in wards)
    return sum(w.occupied for w in wards) / beds if beds else math.nan
