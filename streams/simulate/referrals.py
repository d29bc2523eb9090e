"""Simulated two-way referrals (双向转诊): up, down, lateral and out of the alliance, with their lifecycle.

Volumes are those of a county of ~500k people: about 50 up-referrals a day (town health centers
and village clinics; a clinic mostly to its township's center, sometimes straight to a county
hospital), down-referrals about 40% of that (county hospitals to town centers, a few to village
clinics: recovery and chronic care), a few lateral and a few to hospitals outside the county,
following the working day. Acceptance takes a fifth of the policy's pending limit at the median
(minutes for up, hours for down), so a share is accepted late and a few are never answered and
expire; ~7% are rejected, a few cancelled by the sender. Examinations and specialist consults
return the patient the same day; inpatients are returned (回转) or closed days later.

    >>> flow = ReferralFlow(registry, rng, policy.referrals)
    >>> flow.step(agenda, chunk_start, CHUNK)
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from schemas.events import Direction, ExternalScope
from schemas.policy import Referrals
from schemas.registry import Facility, Registry
from streams.simulate.clock import REFERRAL_RHYTHM, local, poisson, rhythm, weighted_choice
from streams.simulate.scale import unit_of
from streams.simulate.timeline import Agenda

SOURCE: Final = "referral-platform"
# Per alliance and day (the daily mean of REFERRAL_RHYTHM is 1): down is ~40% of up, as in
# alliances' reports (down-referrals a third to a half of up-referrals).
_PER_DAY: Final[dict[Direction, float]] = {"up": 50.0, "down": 20.0, "lateral": 4.0, "external": 6.0}
_UP_FROM_CLINIC: Final = 0.5  # share of up-referrals sent by an (open) village clinic
_CLINIC_TO_HOSPITAL: Final = 0.2  # a clinic's up-referral straight to a county hospital
_DOWN_TO_CLINIC: Final = 0.15
_LATERAL_HOSPITALS: Final = 0.6  # lateral between county hospitals, else between town centers
_EXTERNAL_FROM_HOSPITAL: Final = 0.8
_EXTERNAL_IN_COUNTY: Final = 0.25
_UP_REASONS: Final = (
    ("beyond_capability", 0.40), ("specialist", 0.25), ("equipment", 0.20), ("patient_choice", 0.15),
)  # fmt: skip
_DOWN_REASONS: Final = (("recovery", 0.55), ("chronic_care", 0.45))
_LATERAL_REASONS: Final = (("specialist", 0.45), ("equipment", 0.25), ("recovery", 0.30))
_EXTERNAL_REASONS: Final = (
    ("specialist", 0.45), ("beyond_capability", 0.30), ("equipment", 0.10), ("patient_choice", 0.15),
)  # fmt: skip
# Outside destinations (codes as the referral platform names them; illustrative).
_EXTERNAL: Final[dict[ExternalScope, tuple[str, ...]]] = {
    "out_of_county": ("yj-people-hospital", "yj-mch-hospital", "gd-provincial-people", "gz-sysu-first"),
    "in_county": ("yx-private-kangning", "yx-chronic-disease-station"),
}
_EXTERNAL_DEPARTMENTS: Final = ("心胸外科", "神经外科", "肿瘤科", "血液内科", "儿科")
# Emergencies to these wards are high-risk requests (requests.py), not referrals.
_CRITICAL_WARDS: Final = frozenset({"icu", "nicu"})
_EXAM_DEPARTMENTS: Final = ("影像科", "检验科", "超声科")  # an examination: no ward, back the same day
_CLINIC_DEPARTMENT: Final = "全科门诊"  # a village clinic has no wards
_NAMED_AT_REQUEST: Final = 0.35  # the sender already knows the target ward
_NAMED_AT_ACCEPT: Final = 0.6  # else the receiver names it when it accepts
# Lifecycle shares per direction: never answered (then expired), rejected, cancelled by the sender.
_NEVER_ANSWERED: Final[dict[Direction, float]] = {"up": 0.04, "down": 0.02, "lateral": 0.03, "external": 0.02}
_REJECTED: Final[dict[Direction, float]] = {"up": 0.07, "down": 0.05, "lateral": 0.06, "external": 0.08}
_CANCELLED: Final = 0.05
# Acceptance: log-normal with its median at this share of the direction's pending limit; with
# sigma 1.1 about 7% are accepted at or past the limit (more at night, when answers are slower).
_ACCEPT_MEDIAN_OF_LIMIT: Final = 0.2
_ACCEPT_SIGMA: Final = 1.1
_NIGHT_SLOWER: Final = 1.5
# (median hours, sigma): acceptance -> arrival; arrival -> the end of a same-day visit or a stay.
_ARRIVE: Final[dict[Direction, tuple[float, float]]] = {
    "up": (2.0, 0.5), "down": (4.0, 0.5), "lateral": (2.0, 0.5), "external": (6.0, 0.5),
}  # fmt: skip
_SAME_DAY: Final = (2.0, 0.4)
_STAY: Final[dict[str, tuple[float, float]]] = {
    "recovery": (6 * 24.0, 0.5), "chronic_care": (24.0, 1.0), "default": (5 * 24.0, 0.5),
}  # fmt: skip
_SAME_DAY_SHARE: Final = 0.5  # of specialist consults (an examination is always same-day)
_RETURNED_AFTER_VISIT: Final = 0.65  # a same-day patient mostly goes back to the sender (回转)
_RETURNED_AFTER_STAY: Final[dict[Direction, float]] = {"up": 0.55, "lateral": 0.3, "down": 0.0}
_REJECT_REASONS: Final[dict[Direction, tuple[str, ...]]] = {
    "up": ("no bed in the target ward", "outside the hospital's scope", "incomplete referral form"),
    "down": ("no rehabilitation bed", "patient prefers the county hospital", "family doctor unavailable"),
    "lateral": ("no bed in the target ward", "service not offered"),
    "external": ("no bed this week", "outside the hospital's scope"),
}
_CANCEL_REASONS: Final = ("patient improved", "family declined the referral", "entered in error")


@dataclass(frozen=True, slots=True)
class Referral:
    """One referral as drawn: who sends it where, why, to which department and (maybe) ward."""

    sender: Facility
    direction: Direction
    reason: str
    department: str
    receiver: Facility | None = None  # None: outside the alliance (`external`)
    external: tuple[str, ExternalScope] | None = None  # (code, scope)
    ward: str | None = None  # the ward the patient goes to (None: an examination, a clinic, outside)
    ward_named: bool = False  # the sender names it in the request (else the receiver may, on accepting)


@dataclass
class ReferralFlow:
    registry: Registry
    rng: random.Random
    limits: Referrals  # the policy's pending limits: acceptance delays are drawn against them
    _levels: dict[tuple[str, str], list[Facility]] = field(default_factory=lambda: defaultdict(list))
    _center_of: dict[str, Facility] = field(default_factory=dict)  # township -> its health center

    def __post_init__(self) -> None:
        for facility in self.registry.facilities.values():
            self._levels[(unit_of(facility.id), facility.level)].append(facility)
            if facility.level == "town_health_center":
                self._center_of[facility.township] = facility

    @property
    def units(self) -> list[str]:
        return sorted({unit for unit, level in self._levels if level == "county_hospital"})

    def step(self, agenda: Agenda, start: datetime, length: timedelta) -> None:
        days = length.total_seconds() / 86400 * rhythm(REFERRAL_RHYTHM, local_hour=local(start).hour)
        for unit in self.units:
            for direction, per_day in _PER_DAY.items():
                for _ in range(poisson(self.rng, per_day * days)):
                    moment = start + timedelta(seconds=self.rng.randint(1, int(length.total_seconds()) - 1))
                    referral = self.draw(unit, direction, moment)
                    if referral is not None:
                        self.refer(agenda, moment, referral)

    def draw(self, unit: str, direction: Direction, moment: datetime) -> Referral | None:
        """A referral of `direction` in `unit` requested at `moment` (None if the unit cannot send one)."""
        hospitals = self._levels[(unit, "county_hospital")]
        centers = self._levels[(unit, "town_health_center")]
        clinics = [c for c in self._levels[(unit, "village_clinic")] if _is_open(c, moment)]
        if not hospitals or not centers:
            return None
        if direction == "up":
            if clinics and self.rng.random() < _UP_FROM_CLINIC:
                clinic = self.rng.choice(clinics)
                center = self._center_of.get(clinic.township)
                if center is not None and self.rng.random() >= _CLINIC_TO_HOSPITAL:
                    return self._to(clinic, center, "up", _UP_REASONS)
                return self._to(clinic, self._hospital(hospitals), "up", _UP_REASONS)
            return self._to(self.rng.choice(centers), self._hospital(hospitals), "up", _UP_REASONS)
        if direction == "down":
            sender = self._hospital(hospitals)
            if clinics and self.rng.random() < _DOWN_TO_CLINIC:
                return self._to(sender, self.rng.choice(clinics), "down", _DOWN_REASONS)
            return self._to(sender, self.rng.choice(centers), "down", _DOWN_REASONS)
        if direction == "lateral":
            peers = hospitals if self.rng.random() < _LATERAL_HOSPITALS else centers
            if len(peers) < 2:
                return None
            sender, receiver = self.rng.sample(peers, 2)
            return self._to(sender, receiver, "lateral", _LATERAL_REASONS)
        sender = (
            self._hospital(hospitals)
            if self.rng.random() < _EXTERNAL_FROM_HOSPITAL
            else self.rng.choice(centers)
        )
        scope: ExternalScope = "in_county" if self.rng.random() < _EXTERNAL_IN_COUNTY else "out_of_county"
        return Referral(
            sender,
            "external",
            str(weighted_choice(self.rng, _EXTERNAL_REASONS)),
            self.rng.choice(_EXTERNAL_DEPARTMENTS),
            external=(self.rng.choice(_EXTERNAL[scope]), scope),
        )

    def refer(
        self,
        agenda: Agenda,
        requested: datetime,
        referral: Referral,
        *,
        accepted_at: datetime | None = None,
        answered: bool = True,
    ) -> str:
        """Schedule a whole referral; `accepted_at` fixes its acceptance (it is then neither left
        unanswered, rejected nor cancelled before it), `answered=False` leaves it requested."""
        referral_id = f"f-{self.rng.getrandbits(48):012x}"
        body: dict[str, str] = {
            "type": "referral.requested",
            "facility_id": referral.sender.id,
            "referral_id": referral_id,
            "reason": referral.reason,
            "department": referral.department,
            "source": SOURCE,
        }
        if referral.receiver is not None:
            body["to_facility_id"] = referral.receiver.id
        if referral.external is not None:
            body["to_external_code"], body["to_external_scope"] = referral.external
        if referral.ward is not None and referral.ward_named:
            body["target_ward_id"] = referral.ward
        agenda.add(requested, body)
        if answered:
            _Lifecycle(self, agenda, referral, referral_id, requested).run(accepted_at)
        return referral_id

    def cancel(self, agenda: Agenda, at: datetime, referral_id: str, sender: str, reason: str) -> None:
        """The sender withdraws a referral (before the patient arrives)."""
        body = {"type": "referral.cancelled", "facility_id": sender, "referral_id": referral_id}
        agenda.add(at, {**body, "reason": reason, "source": SOURCE})

    def hours(self, median: float, sigma: float) -> timedelta:
        """A log-normal duration of `median` hours."""
        return timedelta(seconds=round(median * 3600 * math.exp(self.rng.gauss(0, sigma))))

    def _hospital(self, hospitals: list[Facility]) -> Facility:
        # The larger hospital takes more of the alliance's referrals.
        return self.rng.choices(hospitals, weights=[max(1, h.nominal_beds) for h in hospitals])[0]

    def _to(
        self,
        sender: Facility,
        receiver: Facility,
        direction: Direction,
        reasons: tuple[tuple[str, float], ...],
    ) -> Referral:
        reason = str(weighted_choice(self.rng, reasons))
        wards = sorted(w for w in receiver.wards if w not in _CRITICAL_WARDS)
        if reason == "equipment" and receiver.level == "county_hospital":
            return Referral(sender, direction, reason, self.rng.choice(_EXAM_DEPARTMENTS), receiver)
        if not wards:
            return Referral(sender, direction, reason, _CLINIC_DEPARTMENT, receiver)
        if reason == "recovery" and "rehabilitation" in wards:
            ward = "rehabilitation"
        else:
            ward = self.rng.choice(wards)
        named = self.rng.random() < _NAMED_AT_REQUEST
        # The department is the ward's service as the receiver names it.
        return Referral(
            sender, direction, reason, receiver.wards[ward].name, receiver, ward=ward, ward_named=named
        )


@dataclass
class _Lifecycle:
    """The events after a referral's request, each from the facility the contract names."""

    flow: ReferralFlow
    agenda: Agenda
    referral: Referral
    referral_id: str
    requested: datetime

    def run(self, accepted_at: datetime | None) -> None:
        rng, direction = self.flow.rng, self.referral.direction
        fixed = accepted_at is not None
        if not fixed and rng.random() < _NEVER_ANSWERED[direction]:
            return  # pending until it expires
        answered = self._open(accepted_at) if accepted_at is not None else self._answer_time()
        arrival = self._open(answered + self.flow.hours(*_ARRIVE[direction]))
        if not fixed and rng.random() < _REJECTED[direction]:
            reason = rng.choice(_REJECT_REASONS[direction])
            return self._emit("referral.rejected", answered, self._receiver_side, reason=reason)
        cancel_at = None
        if rng.random() < _CANCELLED:
            # The sender cancels before the patient arrives, while it is open (a village clinic).
            drawn = self.requested + (arrival - self.requested) * rng.uniform(0.1, 0.95)
            cancel_at = _next_open(self.referral.sender, drawn)
            if cancel_at >= arrival or (fixed and cancel_at <= answered):
                cancel_at = None
        if cancel_at is not None and cancel_at < answered:
            return self._cancel(cancel_at)
        ward = self._ward_at_acceptance()
        self._emit(
            "referral.accepted", answered, self._receiver_side, **({"target_ward_id": ward} if ward else {})
        )
        if cancel_at is not None:
            return self._cancel(cancel_at)
        if self.referral.receiver is None:
            return None  # the outside hospital's own events are not the alliance's to publish
        self._emit("referral.arrived", arrival, self.referral.receiver.id)
        ending, at = self._ending(arrival)
        self._emit(ending, at, self.referral.receiver.id)
        return None

    @property
    def _receiver_side(self) -> str:
        # An outside hospital publishes nothing: the sender's platform relays its answer.
        receiver = self.referral.receiver
        return receiver.id if receiver is not None else self.referral.sender.id

    def _answer_time(self) -> datetime:
        limit_hours = self.flow.limits.pending_limit_seconds(self.referral.direction) / 3600
        hour = local(self.requested).hour
        slower = _NIGHT_SLOWER if hour >= 22 or hour < 7 else 1.0
        delay = self.flow.hours(limit_hours * _ACCEPT_MEDIAN_OF_LIMIT * slower, _ACCEPT_SIGMA)
        return self._open(self.requested + max(delay, timedelta(minutes=1)))

    def _ward_at_acceptance(self) -> str | None:
        ward = self.referral.ward
        if ward is None or self.referral.ward_named:
            return None
        return ward if self.flow.rng.random() < _NAMED_AT_ACCEPT else None

    def _ending(self, arrival: datetime) -> tuple[str, datetime]:
        rng, referral = self.flow.rng, self.referral
        same_day = referral.department in _EXAM_DEPARTMENTS or (
            referral.reason == "specialist" and rng.random() < _SAME_DAY_SHARE
        )
        if same_day:
            returned = rng.random() < _RETURNED_AFTER_VISIT
            return ("referral.returned" if returned else "referral.closed"), self._open(
                arrival + self.flow.hours(*_SAME_DAY)
            )
        stay = _STAY.get(referral.reason, _STAY["default"])
        returned = rng.random() < _RETURNED_AFTER_STAY.get(referral.direction, 0.0)
        return ("referral.returned" if returned else "referral.closed"), self._open(
            arrival + self.flow.hours(*stay)
        )

    def _cancel(self, at: datetime) -> None:
        reason = self.flow.rng.choice(_CANCEL_REASONS)
        self.flow.cancel(self.agenda, at, self.referral_id, self.referral.sender.id, reason)

    def _emit(self, kind: str, at: datetime, facility: str, **extra: str) -> None:
        self.agenda.add(
            at,
            {
                "type": kind,
                "facility_id": facility,
                "referral_id": self.referral_id,
                "source": SOURCE,
                **extra,
            },
        )

    def _open(self, moment: datetime) -> datetime:
        """`moment`, or a village clinic receiver's next opening when it is closed then."""
        receiver = self.referral.receiver
        return moment if receiver is None else _next_open(receiver, moment)


_OPENING_STEP: Final = timedelta(minutes=10)


def _is_open(facility: Facility, moment: datetime) -> bool:
    hours = facility.opening_hours
    return hours is None or hours.is_open(local(moment))


def _next_open(facility: Facility, moment: datetime) -> datetime:
    """The first 10-minute step from `moment` at which `facility` is open (a clinic opens daily)."""
    for _ in range(24 * 6 + 1):
        if _is_open(facility, moment):
            return moment
        moment += _OPENING_STEP
    return moment
