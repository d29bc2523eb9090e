"""Scenarios that drive an alert condition on purpose, then end it.

- `ward-surge`: one ward of the first county hospital filled to >= 95% (admissions and a census
  every 5 min), then discharged back to normal when the scenario ends.
- `ed-surge`: a burst of ED arrivals at the first county hospital (60 within 10 min).
- `stale-feed`: the second county hospital's beds feed goes silent, heartbeats included.
- `overdue-request`: three requests to the first county hospital that are never accepted,
  cancelled by their senders when the scenario ends.
- `expired-referral`: three up-referrals from town health centers to the first county hospital
  (each naming a target ward) that nobody answers: pending, then expired once the policy's limit
  for up-referrals has passed; their senders cancel them 15 min after that or when the scenario
  ends, whichever is later (so the expiry is seen whatever the length).
- `d2b-breach`: a primary-PCI STEMI arrives by 120 ambulance at the chest-pain center when the
  scenario begins and its wire crosses 100 min after the door: its door -> wire clock is due soon
  from 72 min, overdue from 90 min, and the breach is recorded at 100 min (whatever the length).

    >>> plan = ScenarioPlan.build("ward-surge", registry, begins=start, length=timedelta(minutes=30))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

from schemas.events import Feed
from schemas.registry import Registry
from streams.simulate.beds import WardFlow
from streams.simulate.cases import CaseFlow
from streams.simulate.referrals import Referral, ReferralFlow
from streams.simulate.requests import RequestFlow
from streams.simulate.scale import unit_of
from streams.simulate.timeline import Agenda
from streams.simulate.visits import VisitFlow

ScenarioName = Literal[
    "ward-surge", "ed-surge", "stale-feed", "overdue-request", "expired-referral", "d2b-breach"
]
SCENARIOS: Final[tuple[ScenarioName, ...]] = get_args(ScenarioName)
SURGE_OCCUPANCY: Final = 0.97  # above the 95% the ward-surge scenario promises
SURGE_WARD_PREFERENCE: Final = ("general-medicine", "cardiology")
ED_SURGE_ARRIVALS: Final = 60
ED_SURGE_SPREAD: Final = timedelta(minutes=10)
OVERDUE_CATEGORIES: Final = ("chest_pain", "stroke", "critical_maternal")
_FILL_SPREAD: Final = timedelta(seconds=90)
# Ten minutes past the 90-minute door -> wire standard: late beyond doubt, and the whole breach
# (due soon at 72, overdue at 90, recorded at 100) fits in the two hours a demo runs.
D2B_BREACH_WIRE: Final = timedelta(minutes=100)
EXPIRED_REFERRAL_WARDS: Final = ("general-medicine", "cardiology", "neurology")
EXPIRED_SEEN: Final = timedelta(minutes=15)  # how long the expired referrals stay before cancelled


@dataclass
class ScenarioPlan:
    name: ScenarioName
    begins: datetime
    ends: datetime
    facility_id: str
    ward_id: str | None = None
    _open_requests: list[tuple[str, str]] = field(default_factory=list)
    _normal_occupancy: int = 0

    @classmethod
    def build(cls, name: str, registry: Registry, *, begins: datetime, length: timedelta) -> ScenarioPlan:
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}: choose one of {', '.join(SCENARIOS)}")
        hospitals = [f for f in registry.facilities.values() if f.level == "county_hospital"]
        if len(hospitals) < 2:
            raise ValueError("scenarios need at least two county hospitals in the registry")
        first = hospitals[0]
        facility = hospitals[1] if name == "stale-feed" else first
        ward = None
        if name == "ward-surge":
            ward = next((w for w in SURGE_WARD_PREFERENCE if w in first.wards), next(iter(first.wards)))
        return cls(name, begins, begins + length, facility.id, ward)  # type: ignore[arg-type]

    def silences(self, facility_id: str, feed: Feed, moment: datetime) -> bool:
        """Whether the scenario keeps this facility's feed quiet at `moment` (stale-feed)."""
        return (
            self.name == "stale-feed"
            and facility_id == self.facility_id
            and feed == "beds"
            and self.begins <= moment < self.ends
        )

    def step(
        self,
        agenda: Agenda,
        start: datetime,
        end: datetime,
        *,
        wards: WardFlow,
        visits: VisitFlow,
        requests: RequestFlow,
        cases: CaseFlow,
        referrals: ReferralFlow,
    ) -> None:
        """Act within the chunk [start, end): begin, keep up, or end the condition."""
        if self.name == "ward-surge":
            self._ward_surge(agenda, start, end, wards)
        elif self.name == "ed-surge" and start <= self.begins < end:
            visits.ed_burst(agenda, self.facility_id, self.begins, ED_SURGE_SPREAD, ED_SURGE_ARRIVALS)
        elif self.name == "overdue-request":
            self._overdue(agenda, start, end, requests)
        elif self.name == "expired-referral" and start <= self.begins < end:
            self._expired_referrals(agenda, referrals)
        elif self.name == "d2b-breach" and start <= self.begins < end:
            center = requests.destination(unit_of(self.facility_id), "chest_pain")
            cases.late_balloon(agenda, center, door=self.begins, wire_after=D2B_BREACH_WIRE)

    def _ward_surge(self, agenda: Agenda, start: datetime, end: datetime, flow: WardFlow) -> None:
        assert self.ward_id is not None
        ward = flow.find(self.facility_id, self.ward_id)
        if start <= self.begins < end:
            ward.frozen = True
            self._normal_occupancy = ward.occupied
            flow.fill_to(agenda, ward, math.ceil(SURGE_OCCUPANCY * ward.beds), self.begins, _FILL_SPREAD)
            flow.census(agenda, self.begins + _FILL_SPREAD, only=ward)
        elif self.begins < start < self.ends:
            flow.census(agenda, start, only=ward)  # chunks are 5 min: a census per chunk while it lasts
        if start <= self.ends < end and ward.frozen:
            flow.fill_to(agenda, ward, self._normal_occupancy, self.ends, _FILL_SPREAD)
            flow.census(agenda, self.ends + _FILL_SPREAD, only=ward)
            ward.frozen = False

    def _expired_referrals(self, agenda: Agenda, flow: ReferralFlow) -> None:
        hospital = flow.registry.facility(self.facility_id)
        centers = [
            f
            for f in flow.registry.facilities.values()
            if f.level == "town_health_center" and unit_of(f.id) == unit_of(hospital.id)
        ]
        wards = [w for w in EXPIRED_REFERRAL_WARDS if w in hospital.wards] or sorted(hospital.wards)[:1]
        limit = timedelta(seconds=flow.limits.pending_limit_seconds("up"))
        cancelled_at = max(self.ends, self.begins + limit + EXPIRED_SEEN)
        for index, ward in enumerate(wards):
            sender = centers[index % len(centers)]
            referral = Referral(
                sender,
                "up",
                "beyond_capability",
                hospital.wards[ward].name,
                hospital,
                ward=ward,
                ward_named=True,
            )
            referral_id = flow.refer(
                agenda, self.begins + timedelta(seconds=index + 1), referral, answered=False
            )
            flow.cancel(agenda, cancelled_at, referral_id, sender.id, "scenario ended")

    def _overdue(self, agenda: Agenda, start: datetime, end: datetime, flow: RequestFlow) -> None:
        if start <= self.begins < end:
            senders = flow.senders(unit_of(self.facility_id))
            for index, category in enumerate(OVERDUE_CATEGORIES):
                sender = senders[index % len(senders)].id
                moment = self.begins + timedelta(seconds=index + 1)
                request_id = flow.request(agenda, moment, sender, category, self.facility_id, answered=False)
                self._open_requests.append((request_id, sender))
        if start <= self.ends < end:
            for request_id, sender in self._open_requests:
                flow.cancel(agenda, self.ends, request_id, sender, "scenario ended")
            self._open_requests.clear()
