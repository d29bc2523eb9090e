"""Simulated high-risk urgent requests (高危紧急申请): up-referrals moving through their stages.

A few requests an hour per alliance, from town health centers and open village clinics up
to the county hospital that runs the matching center. Delays are log-normal around what the
centers achieve, so a few miss the acceptance (10 min) or arrival (60/90 min) standards; some
are rejected by the receiver or cancelled by the sender.

    >>> flow = RequestFlow(registry, rng)
    >>> flow.step(agenda, chunk_start, CHUNK)
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from schemas.registry import Facility, Registry
from streams.simulate.clock import REQUEST_RHYTHM, local, poisson, rhythm, weighted_choice
from streams.simulate.scale import unit_of
from streams.simulate.timeline import Agenda

_REQUESTS_PER_HOUR: Final = 3.0  # per alliance
_CATEGORIES: Final = (
    ("chest_pain", 0.30),
    ("stroke", 0.28),
    ("trauma", 0.22),
    ("critical_maternal", 0.10),
    ("critical_neonatal", 0.10),
)
# Which ward marks the county hospital that runs the center for a category (first match wins).
_CENTER_WARDS: Final = {
    "chest_pain": ("cardiology", "icu"),
    "stroke": ("neurology", "icu"),
    "trauma": ("orthopedics-trauma", "surgery", "general-surgery"),
    "critical_maternal": ("obstetrics",),
    "critical_neonatal": ("nicu", "pediatrics"),
}
_REJECT_SHARE: Final = 0.06
_CANCEL_SHARE: Final = 0.04
# Log-normal delays (median minutes, sigma): about 6% accepted after 10 min, 6% arrive late.
_ACCEPT: Final = (4.0, 0.6)
_ARRIVE: Final = {"critical_maternal": (50.0, 0.35), "critical_neonatal": (50.0, 0.35)}
_ARRIVE_DEFAULT: Final = (35.0, 0.35)
_REJECT_REASONS: Final = ("no ICU bed available", "outside service scope", "duplicate request")
_CANCEL_REASONS: Final = ("patient stabilised locally", "family declined transfer", "entered in error")
SOURCE: Final = "referral-platform"


@dataclass(frozen=True, slots=True)
class TransferArrival:
    """A request that runs to its patient's arrival: the center's case of that patient (case_id =
    request_id) is then simulated too (streams/simulate/cases.py)."""

    request_id: str
    category: str
    sender: str
    receiver: str
    submitted: datetime
    arrived: datetime


@dataclass
class RequestFlow:
    registry: Registry
    rng: random.Random
    # Called for every request whose patient arrives; it draws nothing from `rng`, so the requests
    # simulated are the same with or without it.
    on_arrival: Callable[[Agenda, TransferArrival], None] | None = None
    _senders: dict[str, list[Facility]] = field(default_factory=lambda: defaultdict(list))
    _hospitals: dict[str, list[Facility]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for facility in self.registry.facilities.values():
            group = self._hospitals if facility.level == "county_hospital" else self._senders
            group[unit_of(facility.id)].append(facility)

    def step(self, agenda: Agenda, start: datetime, length: timedelta) -> None:
        mean = (
            _REQUESTS_PER_HOUR
            * length.total_seconds()
            / 3600
            * rhythm(REQUEST_RHYTHM, local_hour=local(start).hour)
        )
        for unit in self.units:
            for _ in range(poisson(self.rng, mean)):
                moment = start + timedelta(seconds=self.rng.randint(1, int(length.total_seconds()) - 1))
                sender = self._sender(unit, moment)
                if sender is not None:
                    category = str(weighted_choice(self.rng, _CATEGORIES))
                    self.request(agenda, moment, sender.id, category, self.destination(unit, category))

    def destination(self, unit: str, category: str) -> str:
        hospitals = self._hospitals[unit]
        for ward in _CENTER_WARDS[category]:
            for hospital in hospitals:
                if ward in hospital.wards:
                    return hospital.id
        return hospitals[0].id

    @property
    def units(self) -> list[str]:
        """The alliances (units) of the registry that have a county hospital."""
        return sorted(self._hospitals)

    def senders(self, unit: str) -> list[Facility]:
        return [f for f in self._senders[unit] if f.level == "town_health_center"]

    def request(
        self,
        agenda: Agenda,
        submitted: datetime,
        sender: str,
        category: str,
        receiver: str,
        *,
        answered: bool = True,
        completes: bool = False,
    ) -> str:
        """Schedule a whole request; `answered=False` leaves it submitted (never accepted),
        `completes=True` rules out a rejection or cancellation (it runs to completion)."""
        request_id = f"r-{self.rng.getrandbits(48):012x}"
        agenda.add(
            submitted,
            {
                "type": "request.submitted",
                "facility_id": sender,
                "request_id": request_id,
                "category": category,
                "to_facility_id": receiver,
                "source": SOURCE,
            },
        )
        if answered:
            self._answer(agenda, submitted, request_id, sender, receiver, category, completes=completes)
        return request_id

    def cancel(self, agenda: Agenda, moment: datetime, request_id: str, sender: str, reason: str) -> None:
        agenda.add(
            moment,
            {
                "type": "request.cancelled",
                "facility_id": sender,
                "request_id": request_id,
                "reason": reason,
                "source": SOURCE,
            },
        )

    def _answer(
        self,
        agenda: Agenda,
        submitted: datetime,
        request_id: str,
        sender: str,
        receiver: str,
        category: str,
        *,
        completes: bool,
    ) -> None:
        def stage(kind: str, at: datetime, facility: str, **extra: str) -> None:
            body = {
                "type": kind,
                "facility_id": facility,
                "request_id": request_id,
                "source": SOURCE,
                **extra,
            }
            agenda.add(at, body)

        accepted = submitted + self._delay(*_ACCEPT, floor=0.5)
        if not completes and self.rng.random() < _REJECT_SHARE:
            return stage("request.rejected", accepted, receiver, reason=self.rng.choice(_REJECT_REASONS))
        cancel_at = submitted + timedelta(minutes=self.rng.uniform(5, 40))
        cancelled = not completes and self.rng.random() < _CANCEL_SHARE
        dispatched = accepted + timedelta(minutes=self.rng.uniform(1, 8))
        arrived = max(
            dispatched + timedelta(minutes=10),
            submitted + self._delay(*_ARRIVE.get(category, _ARRIVE_DEFAULT)),
        )
        completed = arrived + timedelta(minutes=self.rng.uniform(10, 40))
        for kind, at in (
            ("request.accepted", accepted),
            ("request.dispatched", dispatched),
            ("request.arrived", arrived),
            ("request.completed", completed),
        ):
            if cancelled and at >= cancel_at:
                return self.cancel(agenda, cancel_at, request_id, sender, self.rng.choice(_CANCEL_REASONS))
            stage(kind, at, receiver)
        if self.on_arrival is not None:
            self.on_arrival(
                agenda, TransferArrival(request_id, category, sender, receiver, submitted, arrived)
            )
        return None

    def _delay(self, median_minutes: float, sigma: float, floor: float = 1.0) -> timedelta:
        minutes = max(floor, median_minutes * math.exp(self.rng.gauss(0, sigma)))
        return timedelta(seconds=round(minutes * 60))

    def _sender(self, unit: str, moment: datetime) -> Facility | None:
        candidates = self._senders[unit]
        if not candidates:
            return None
        sender = self.rng.choice(candidates)
        hours = sender.opening_hours
        if hours is not None and not hours.is_open(local(moment)):
            towns = self.senders(unit)  # a closed clinic's patient goes via the health center
            return self.rng.choice(towns) if towns else None
        return sender
