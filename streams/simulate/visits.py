"""Simulated outpatient registrations and emergency-department visits.

>>> flow = VisitFlow(registry, rng)
>>> flow.step(agenda, chunk_start, CHUNK)        # arrivals, with triage/departure scheduled ahead
>>> flow.ed_burst(agenda, facility_id, start, spread, count=60)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from schemas.registry import Facility, Registry
from streams.simulate.clock import ED_RHYTHM, OUTPATIENT_RHYTHM, local, poisson, rhythm, weighted_choice
from streams.simulate.timeline import Agenda

# Illustrative daily volumes (the registry gives no volumes): per level, outpatient visits a day.
_OUTPATIENT_PER_DAY: Final = {"county_hospital": 900.0, "town_health_center": 160.0, "village_clinic": 25.0}
# ED arrivals a day per ED bed: a 24-bed county ED sees about 140 patients a day.
_ED_ARRIVALS_PER_BED_DAY: Final = 6.0
_DEPARTMENTS: Final = ("internal", "surgery", "pediatrics", "gynecology", "tcm", "general")
_ARRIVAL_MODES: Final = (("walk_in", 0.72), ("ambulance", 0.18), ("referral", 0.10))
_TRIAGE_LEVELS: Final = ((1, 0.03), (2, 0.12), (3, 0.45), (4, 0.40))
# LWBS about 1.5%: well under the 5% alert threshold on a normal day. Weights sum to 1.
_DISPOSITIONS: Final = (
    ("discharged", 0.755),
    ("admitted", 0.18),
    ("transferred", 0.045),
    ("left_without_being_seen", 0.015),
    ("died", 0.005),
)
# ED stay: log-normal, median 2 h; about 5% stay beyond 4 h.
_STAY_MEDIAN_MINUTES: Final = 120.0
_STAY_SIGMA: Final = 0.45
SOURCE: Final = "HIS"


@dataclass
class VisitFlow:
    registry: Registry
    rng: random.Random

    def step(self, agenda: Agenda, start: datetime, length: timedelta) -> None:
        days = length.total_seconds() / 86400
        hour = local(start).hour
        for facility in self.registry.facilities.values():
            if not _open(facility, start):
                continue
            mean = _OUTPATIENT_PER_DAY[facility.level] * days * rhythm(OUTPATIENT_RHYTHM, local_hour=hour)
            if facility.opening_hours is not None:
                mean *= 24 / _open_hours(facility)  # the day's visits fall within the opening hours
            for _ in range(poisson(self.rng, mean)):
                agenda.add(_moment(self.rng, start, length), self._outpatient(facility))
            if facility.ed_beds:
                ed_mean = (
                    facility.ed_beds * _ED_ARRIVALS_PER_BED_DAY * days * rhythm(ED_RHYTHM, local_hour=hour)
                )
                for _ in range(poisson(self.rng, ed_mean)):
                    self.ed_visit(agenda, facility.id, _moment(self.rng, start, length))

    def ed_burst(
        self, agenda: Agenda, facility_id: str, start: datetime, spread: timedelta, count: int
    ) -> None:
        """A surge: `count` arrivals within `spread` (a mass-casualty incident), staying longer."""
        for _ in range(count):
            self.ed_visit(agenda, facility_id, _moment(self.rng, start, spread), stay_factor=2.0)

    def ed_visit(
        self, agenda: Agenda, facility_id: str, arrival: datetime, *, stay_factor: float = 1.0
    ) -> None:
        visit = f"v-{self.rng.getrandbits(48):012x}"
        base = {"facility_id": facility_id, "visit_id": visit, "source": SOURCE}
        agenda.add(
            arrival, {**base, "type": "ed.arrival", "arrival_mode": weighted_choice(self.rng, _ARRIVAL_MODES)}
        )
        disposition = weighted_choice(self.rng, _DISPOSITIONS)
        if disposition == "left_without_being_seen":
            stay = timedelta(minutes=self.rng.uniform(20, 150))
            if self.rng.random() < 0.5:  # half leave before triage
                agenda.add(arrival + stay, {**base, "type": "ed.departure", "disposition": disposition})
                return
        else:
            minutes = _STAY_MEDIAN_MINUTES * stay_factor * math.exp(self.rng.gauss(0, _STAY_SIGMA))
            stay = timedelta(minutes=max(15.0, minutes))
        triage_at = arrival + timedelta(seconds=self.rng.randint(60, 900))
        agenda.add(
            triage_at, {**base, "type": "ed.triage", "level": weighted_choice(self.rng, _TRIAGE_LEVELS)}
        )
        agenda.add(
            max(arrival + stay, triage_at + timedelta(seconds=60)),
            {**base, "type": "ed.departure", "disposition": disposition},
        )

    def _outpatient(self, facility: Facility) -> dict[str, object]:
        body: dict[str, object] = {"type": "visit.outpatient", "facility_id": facility.id, "source": SOURCE}
        if facility.level != "village_clinic":
            body["department"] = self.rng.choice(_DEPARTMENTS)
        return body


def _open(facility: Facility, moment: datetime) -> bool:
    return facility.opening_hours is None or facility.opening_hours.is_open(local(moment))


def _open_hours(facility: Facility) -> float:
    hours = facility.opening_hours
    assert hours is not None
    span = (hours.closes.hour * 60 + hours.closes.minute) - (hours.opens.hour * 60 + hours.opens.minute)
    return (span % (24 * 60)) / 60 or 24.0


def _moment(rng: random.Random, start: datetime, length: timedelta) -> datetime:
    return start + timedelta(seconds=rng.randint(1, max(1, int(length.total_seconds()) - 1)))
