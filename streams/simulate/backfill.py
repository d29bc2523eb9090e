"""The day so far: what a live simulation replays before it goes live, so the wall is lived-in at
any hour (`medalliance up`, `medalliance simulate --backfill`).

- `plan_backlog(now)`: the backlog runs from local midnight, or from 12 h ago when midnight is
  nearer — after midnight the wall shows the night so far plus the previous evening's open cases.
- `split_backlog(events, until=...)`: the backlog in memory without superseded heartbeats (only a
  feed's last beat before going live says anything the worker keeps: its last-seen time), then
  the live rest as it comes.
- `GoLive`: a few requests in progress, referrals pending and patients in the ED at the go-live moment, by
  construction — the simulator alone leaves none open at some night hours (seed 1: 05:00).
- `BackfillStatus`: the replay's progress as a small JSON file, for `up`'s progress line.

    >>> backlog = plan_backlog(now)
    >>> events = generate(registry, seed=1, start=backlog.start, duration=..., live_from=backlog.live_from)
    >>> replay, live = split_backlog(events, until=backlog.live_from)
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from schemas.events import Direction
from schemas.registry import Registry
from streams.simulate.clock import local, wire_time
from streams.simulate.referrals import ReferralFlow
from streams.simulate.requests import RequestFlow
from streams.simulate.scale import unit_of
from streams.simulate.timeline import Agenda
from streams.simulate.visits import VisitFlow

Event = dict[str, Any]
# Half a day at least: just after midnight, "since midnight" alone would be an empty wall.
BACKLOG_AT_LEAST: Final = timedelta(hours=12)
# Requests in progress at go-live (category, minutes before it). A request that runs to completion
# takes at least 21.5 min (accepted >= 0.5 min, dispatched >= 1 min after, arrived >= 10 min after
# dispatch, completed >= 10 min after arrival), so each of these is still open at go-live; their
# ages spread them over the stages.
GO_LIVE_REQUESTS: Final = (("chest_pain", 18), ("stroke", 11), ("trauma", 4))
# Referrals waiting for an answer at go-live (direction, minutes before it, minutes after it they
# are accepted): the flow panel has pending referrals at any hour, none of them expired yet.
GO_LIVE_REFERRALS: Final[tuple[tuple[Direction, int, int], ...]] = (("up", 25, 20), ("down", 70, 90))
# ED arrivals (minutes before go-live): every ED stay lasts at least 15 min, so they are in the ED.
GO_LIVE_ED_ARRIVALS: Final = (12, 5)
# The status file is rewritten every so many events: often enough for a progress line redrawn
# twice a second at ~15,000 events/s, rarely enough to cost nothing.
_STATUS_EVERY: Final = 2000


@dataclass(frozen=True)
class Backlog:
    start: datetime  # the first simulated moment replayed
    live_from: datetime  # where the replay ends and the live clock takes over

    @property
    def span(self) -> timedelta:
        return self.live_from - self.start


def plan_backlog(now: datetime) -> Backlog:
    """Since local midnight, or the last 12 h when that is longer."""
    midnight = local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return Backlog(start=min(midnight, now - BACKLOG_AT_LEAST), live_from=now)


def split_backlog(events: Iterable[Event], *, until: datetime) -> tuple[list[Event], Iterator[Event]]:
    """(the events before `until` less the heartbeats a later one of the same facility and feed
    before `until` supersedes, the events from `until` on, lazily), each in time order."""
    limit = until.timestamp()
    backlog: list[Event | None] = []
    last_beat: dict[tuple[str, str], int] = {}
    rest = iter(events)
    for event in rest:
        if datetime.fromisoformat(event["occurred_at"]).timestamp() >= limit:
            rest = itertools.chain((event,), rest)
            break
        if event["type"] == "heartbeat":
            key = (event["facility_id"], event["feed"])
            superseded = last_beat.get(key)
            if superseded is not None:
                backlog[superseded] = None
            last_beat[key] = len(backlog)
        backlog.append(event)
    return [event for event in backlog if event is not None], rest


@dataclass(frozen=True)
class GoLive:
    """Work in progress at `at`, scheduled in the chunk holding the earliest of its moments."""

    at: datetime
    earliest: datetime  # the window's start: nothing can be scheduled before it
    ed_facility: str
    unit: str

    @classmethod
    def build(cls, registry: Registry, *, at: datetime, earliest: datetime) -> GoLive:
        hospital = registry.by_level["county_hospital"][0]  # the alliance's largest ED
        return cls(at, earliest, hospital.id, unit_of(hospital.id))

    def step(
        self,
        agenda: Agenda,
        start: datetime,
        end: datetime,
        *,
        visits: VisitFlow,
        requests: RequestFlow,
        referrals: ReferralFlow,
    ) -> None:
        self._referrals(agenda, start, end, referrals)
        first = self._moment(max(m for _, m in GO_LIVE_REQUESTS))
        if not start <= first < end:
            return
        senders = requests.senders(self.unit)
        for index, (category, minutes) in enumerate(GO_LIVE_REQUESTS if senders else ()):
            sender = senders[index % len(senders)].id
            receiver = requests.destination(self.unit, category)
            requests.request(agenda, self._moment(minutes), sender, category, receiver, completes=True)
        for minutes in GO_LIVE_ED_ARRIVALS:
            visits.ed_visit(agenda, self.ed_facility, self._moment(minutes))

    def _referrals(self, agenda: Agenda, start: datetime, end: datetime, referrals: ReferralFlow) -> None:
        # Apart from the requests: referrals draw from their own stream, so the rest is unchanged.
        if not start <= self._moment(max(m for _, m, _ in GO_LIVE_REFERRALS)) < end:
            return
        for direction, minutes, answered_after in GO_LIVE_REFERRALS:
            referral = referrals.draw(self.unit, direction, self._moment(minutes))
            if referral is not None:
                accepted_at = self.at + timedelta(minutes=answered_after)
                referrals.refer(agenda, self._moment(minutes), referral, accepted_at=accepted_at)

    def _moment(self, minutes_before: int) -> datetime:
        return max(self.earliest, self.at - timedelta(minutes=minutes_before))


@dataclass(frozen=True)
class BackfillProgress:
    backlog: int  # events to replay (superseded heartbeats left out)
    published: int
    since: str  # the backlog's first moment, local wire time

    @property
    def done(self) -> bool:
        return self.published >= self.backlog


class BackfillStatus:
    """The replay's progress, written to `path` if one is given (replaced whole, so a reader
    never sees half a file)."""

    def __init__(self, path: Path | None, *, backlog: int, since: datetime) -> None:
        self._path = path
        self.progress = BackfillProgress(backlog, 0, wire_time(since))
        self._write()

    def count_published(self) -> None:
        """One more event published; the file is rewritten now and then until the backlog is out."""
        backlog, published = self.progress.backlog, self.progress.published + 1
        self.progress = BackfillProgress(backlog, published, self.progress.since)
        if published == backlog or (published < backlog and published % _STATUS_EVERY == 0):
            self._write()

    def _write(self) -> None:
        if self._path is None:
            return
        partial = self._path.with_name(self._path.name + ".partial")
        partial.write_bytes(orjson.dumps(self.progress.__dict__))
        os.replace(partial, self._path)


def read_backfill_status(path: Path) -> BackfillProgress | None:
    """The latest progress written to `path`; None before the replay has begun."""
    try:
        return BackfillProgress(**orjson.loads(path.read_bytes()))
    except FileNotFoundError:
        return None
