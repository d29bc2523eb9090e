"""The simulated alliance: every facility's traffic over a window, in occurred_at order.

Deterministic: the same registry, seed, start, duration and scenario give the same events.
Time advances in 5-minute chunks aligned to the clock; wards take a census at every full hour.

    >>> for event in generate(registry, seed=7, start=start, duration=timedelta(days=1)):
    ...     print(event["type"], event["occurred_at"])
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from schemas.policy import Policy, shipped_policy
from schemas.registry import Registry
from streams.simulate.backfill import GoLive
from streams.simulate.beds import WardFlow
from streams.simulate.cases import CaseFlow
from streams.simulate.heartbeats import Heartbeats
from streams.simulate.referrals import ReferralFlow
from streams.simulate.requests import RequestFlow
from streams.simulate.scenarios import ScenarioPlan
from streams.simulate.timeline import Agenda
from streams.simulate.visits import VisitFlow
from streams.simulate.wire import feed_of_event

CHUNK: Final = timedelta(minutes=5)
CENSUS_EVERY: Final = timedelta(hours=1)
# A scenario starts one chunk in, so the feeds and wards it acts on are seen normal first.
SCENARIO_LEAD: Final = CHUNK
DEFAULT_SCENARIO_LENGTH: Final = timedelta(minutes=30)


def align_up(moment: datetime, step: timedelta) -> datetime:
    """The first multiple of `step` (since the epoch) at or after `moment`."""
    seconds, period = moment.timestamp(), step.total_seconds()
    remainder = seconds % period
    return moment if remainder == 0 else moment + timedelta(seconds=period - remainder)


def generate(
    registry: Registry,
    *,
    seed: int,
    start: datetime,
    duration: timedelta,
    scenario: str | None = None,
    scenario_at: timedelta = SCENARIO_LEAD,
    scenario_length: timedelta = DEFAULT_SCENARIO_LENGTH,
    live_from: datetime | None = None,
    policy: Policy | None = None,
) -> Iterator[dict[str, Any]]:
    """Event dicts (wire JSON objects) with start <= occurred_at < start + duration, in time order.

    `scenario` (see streams.simulate.scenarios) begins `scenario_at` after `start` (rounded up to
    a 5-minute mark) and lasts `scenario_length`. `live_from`, where a replayed backlog ends
    (streams.simulate.backfill), has a few requests in progress and patients in the ED.
    `policy` (default: the shipped one) sets the referrals' pending limits the acceptances are
    drawn against.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    end = start + duration
    rng = random.Random(f"medalliance-sim:{seed}")
    agenda = Agenda(prefix=_id_prefix(seed, start, scenario))
    requests = RequestFlow(registry, rng)
    flows = _Flows(
        WardFlow.for_registry(registry, rng),
        VisitFlow(registry, rng),
        requests,
        Heartbeats(registry, rng, first=start),
        # Cases draw from their own stream: every other flow stays what it was without them.
        CaseFlow(registry, random.Random(f"medalliance-sim:{seed}:cases"), requests),
        # So do referrals.
        ReferralFlow(
            registry,
            random.Random(f"medalliance-sim:{seed}:referrals"),
            (policy or shipped_policy()).referrals,
        ),
    )
    plan = None
    if scenario is not None:
        begins = align_up(start + scenario_at, CHUNK)
        plan = ScenarioPlan.build(scenario, registry, begins=begins, length=scenario_length)
    going_live = None if live_from is None else GoLive.build(registry, at=live_from, earliest=start)
    flows.wards.census(agenda, start)
    chunk_start = start
    while chunk_start < end:
        chunk_end = min(align_up(chunk_start + timedelta(seconds=1), CHUNK), end)
        if chunk_start > start and chunk_start == align_up(chunk_start, CENSUS_EVERY):
            flows.wards.census(agenda, chunk_start)
        if going_live is not None:
            going_live.step(
                agenda,
                chunk_start,
                chunk_end,
                visits=flows.visits,
                requests=flows.requests,
                referrals=flows.referrals,
            )
        flows.step(agenda, chunk_start, chunk_end, plan)
        for moment, event in agenda.pop_until(chunk_end):
            if plan is not None and plan.silences(event["facility_id"], feed_of_event(event), _at(moment)):
                continue
            yield event
        chunk_start = chunk_end


@dataclass
class _Flows:
    wards: WardFlow
    visits: VisitFlow
    requests: RequestFlow
    beats: Heartbeats
    cases: CaseFlow
    referrals: ReferralFlow

    def step(self, agenda: Agenda, start: datetime, end: datetime, plan: ScenarioPlan | None) -> None:
        """Schedule one chunk of every flow (the scenario first: it may freeze a ward)."""
        if plan is not None:
            plan.step(
                agenda,
                start,
                end,
                wards=self.wards,
                visits=self.visits,
                requests=self.requests,
                cases=self.cases,
                referrals=self.referrals,
            )
        length = end - start
        if length >= timedelta(seconds=2):  # a sliver of a chunk at a window edge has no traffic
            self.wards.step(agenda, start, length)
            self.visits.step(agenda, start, length)
            self.requests.step(agenda, start, length)
            self.cases.step(agenda, start, length)
            self.referrals.step(agenda, start, length)
        self.beats.step(agenda, end, lambda f, feed, at: plan is None or not plan.silences(f, feed, _at(at)))


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _id_prefix(seed: int, start: datetime, scenario: str | None) -> str:
    # Event ids differ between runs that start at different times: a second demo run must not
    # be taken for duplicates of the first, while the same run repeated gives the same ids.
    digest = hashlib.sha256(f"{seed}|{start.timestamp()}|{scenario}".encode()).hexdigest()[:10]
    return f"sim-{digest}"
