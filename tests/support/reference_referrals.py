"""The reference for two-way referrals (双向转诊): every referral series recomputed from a log.

    >>> found = referrals(accepted_events(log, now=now))    # referral_id -> Referral
    >>> found["f-1"].direction, found["f-1"].pending
    ('up', True)
    >>> samples = referral_samples(accepted_events(log, now=now), now=now)

Written from docs/contract.md ("Two-way referrals"), the JSON Schema of the referral.* types and
the numbers of schemas/policy.yaml typed by hand in tests/support/contract.py; it imports nothing of
the code under test. Each rule is read the plain way over the whole log: group the kept events by
referral_id, let the first referral.requested fix the referral, the first event of each stage fix
that stage's time, and judge what is pending, expired and late against `now`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.support.contract import (
    EXTERNAL_LABEL,
    LEVEL_RANK,
    PENDING_LIMIT_MINUTES,
    REFERRAL_OUTCOMES,
    REFERRAL_STAGE_BUCKETS,
    REFERRAL_STAGES,
    REFERRAL_TIMED_STAGES,
    bucket_label,
)
from tests.support.reference import same_local_day, same_local_month
from tests.support.reference_decode import parse_time, shipped_registry

Labels = frozenset[tuple[str, str]]
Samples = Counter[tuple[str, Labels]]
_P = "medalliance_"
# The stages after the request: reaching any of them ends "pending", as an ending does.
_PAST_REQUESTED = (*REFERRAL_STAGES[1:], "rejected", "cancelled")


@dataclass(frozen=True)
class Referral:
    """One referral as its first request fixed it, with the time of each stage's first event."""

    sender: str
    to_facility: str  # a facility id, or external_in_county / external_out_of_county
    direction: str
    reason: str
    department: str
    ward: str  # the target ward ("" when none named): the receiver's acceptance replaces the request's
    requested_at: float
    stages: dict[str, float] = field(default_factory=dict)  # stage or outcome -> first event's time

    @property
    def limit_seconds(self) -> float:
        return PENDING_LIMIT_MINUTES[self.direction] * 60.0

    @property
    def pending(self) -> bool:
        """Requested, no later stage reached and not ended."""
        return not any(stage in self.stages for stage in _PAST_REQUESTED)

    def expired(self, now: float) -> bool:
        return self.pending and now - self.requested_at >= self.limit_seconds

    def seconds_to(self, stage: str) -> float | None:
        """From the request to a stage's first event, a negative time counted as 0."""
        at = self.stages.get(stage)
        return None if at is None else max(0.0, at - self.requested_at)

    @property
    def accepted_late(self) -> bool:
        waited = self.seconds_to("accepted")
        return waited is not None and waited >= self.limit_seconds


def direction(sender: str, to_facility: str | None) -> str:
    """up / down / lateral by the registry levels of the two facilities; external with no facility."""
    if to_facility is None:
        return "external"
    registry = shipped_registry()
    rise = LEVEL_RANK[registry[to_facility]["level"]] - LEVEL_RANK[registry[sender]["level"]]
    return "up" if rise > 0 else "down" if rise < 0 else "lateral"


def referrals(accepted: list[tuple[int, dict[str, Any]]]) -> dict[str, Referral]:
    """The referrals of a log's kept events (in log order), by referral_id; a referral counts once
    its referral.requested is kept."""
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, event in accepted:
        if event["type"].startswith("referral."):
            events[event["referral_id"]].append(event)
    found = {}
    for referral_id, mine in events.items():
        referral = _referral(mine)
        if referral is not None:
            found[referral_id] = referral
    return found


def _referral(events: list[dict[str, Any]]) -> Referral | None:
    request = next((e for e in events if e["type"] == "referral.requested"), None)
    if request is None:
        return None
    to_facility = request.get("to_facility_id")
    stages: dict[str, float] = {}
    for event in events:
        stages.setdefault(event["type"].removeprefix("referral."), _ts(event))
    receiver = to_facility if to_facility is not None else EXTERNAL_LABEL[request["to_external_scope"]]
    ward = request.get("target_ward_id") or ""
    acceptance = next(
        (e for e in events if e["type"] == "referral.accepted" and e["facility_id"] == receiver), None
    )
    if acceptance is not None and acceptance.get("target_ward_id") is not None:
        ward = acceptance["target_ward_id"]
    return Referral(
        sender=request["facility_id"],
        to_facility=receiver,
        direction=direction(request["facility_id"], to_facility),
        reason=request["reason"],
        department=request["department"],
        ward=ward,
        requested_at=stages.pop("requested"),
        stages=stages,
    )


def referral_samples(accepted: list[tuple[int, dict[str, Any]]], *, now: datetime) -> Samples:
    """Every referral series of the contract, as metric samples, `now` being the service's clock."""
    out: Samples = Counter()
    at = now.timestamp()
    for referral in referrals(accepted).values():
        flow = _labels(
            direction=referral.direction, from_facility=referral.sender, to_facility=referral.to_facility
        )
        out[(_P + "referrals_total", flow)] += 1
        requested = datetime.fromtimestamp(referral.requested_at, UTC)
        if same_local_day(requested, now):
            out[(_P + "referrals_today", flow)] += 1
        if same_local_month(requested, now):
            out[(_P + "referrals_month", flow)] += 1
        for stage in REFERRAL_TIMED_STAGES:
            seconds = referral.seconds_to(stage)
            if seconds is not None:
                _observe(out, _labels(direction=referral.direction, stage=stage), seconds)
        for outcome in REFERRAL_OUTCOMES:
            if outcome in referral.stages:
                ended = _labels(direction=referral.direction, outcome=outcome)
                out[(_P + "referrals_ended_total", ended)] += 1
        if referral.accepted_late:
            late = _labels(direction=referral.direction, facility=referral.to_facility)
            out[(_P + "referrals_accepted_late_total", late)] += 1
        if referral.pending:
            place = _labels(facility=referral.to_facility, ward=referral.ward)
            out[(_P + "referrals_pending", place)] += 1
            if referral.expired(at):
                out[(_P + "referrals_expired", place)] += 1
    return out


def _observe(out: Samples, labels: Labels, seconds: float) -> None:
    """One observation of the stage-time histogram: its count, its sum and each cumulative bucket."""
    name = _P + "referral_stage_seconds"
    out[(f"{name}_count", labels)] += 1
    out[(f"{name}_sum", labels)] += seconds  # type: ignore[assignment]
    for bound in (*REFERRAL_STAGE_BUCKETS, float("inf")):
        if seconds <= bound:
            out[(f"{name}_bucket", labels | {("le", bucket_label(bound))})] += 1


def _labels(**labels: str) -> Labels:
    return frozenset(labels.items())


def _ts(event: dict[str, Any]) -> float:
    return parse_time(event["occurred_at"]).timestamp()
