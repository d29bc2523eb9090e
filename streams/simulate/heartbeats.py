"""Heartbeats: every 30-60 s per facility and feed it publishes, while its system runs.

Hospitals and health centers publish all three feeds around the clock; village clinics have
no beds and publish visits and requests only within their opening hours.

    >>> beats = Heartbeats(registry, rng, first=start)
    >>> beats.step(agenda, chunk_end, publishing=lambda facility, feed, epoch: True)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time
from typing import Final

from schemas.events import FEEDS, Feed
from schemas.registry import Facility, Registry
from streams.simulate.clock import local_second_of_day
from streams.simulate.timeline import Agenda

_INTERVAL_SECONDS: Final = (30, 60)  # the contract asks for at least one a minute
SOURCE: Final = "HIS"
Publishing = Callable[[str, Feed, float], bool]
OpenSpan = tuple[int, int] | None  # local seconds of day [opens, closes); None = always


def feeds_of(facility: Facility) -> tuple[Feed, ...]:
    """The feeds a facility's systems publish."""
    return FEEDS if facility.wards else ("visits", "requests")


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _span(facility: Facility) -> OpenSpan:
    hours = facility.opening_hours
    return None if hours is None else (_seconds(hours.opens), _seconds(hours.closes))


def is_open(span: OpenSpan, epoch: float) -> bool:
    if span is None:
        return True
    opens, closes, now = span[0], span[1], local_second_of_day(epoch)
    return opens <= now < closes if opens <= closes else (now >= opens or now < closes)


class Heartbeats:
    """Each (facility, feed) keeps its own next beat, in epoch seconds (the hot path of the simulator)."""

    def __init__(self, registry: Registry, rng: random.Random, *, first: datetime) -> None:
        self._rng = rng
        start = first.timestamp()
        # Random phase, so a thousand systems do not beat in the same second.
        self._next: dict[tuple[str, Feed], float] = {
            (facility.id, feed): start + rng.randint(0, _INTERVAL_SECONDS[0])
            for facility in registry.facilities.values()
            for feed in feeds_of(facility)
        }
        self._spans = {f.id: _span(f) for f in registry.facilities.values()}

    def step(self, agenda: Agenda, end: datetime, publishing: Publishing) -> None:
        low, spread = _INTERVAL_SECONDS[0], _INTERVAL_SECONDS[1] - _INTERVAL_SECONDS[0] + 1
        limit, draw, add = end.timestamp(), self._rng.random, agenda.add_at
        for key, moment in self._next.items():
            facility_id, feed = key
            span = self._spans[facility_id]
            while moment < limit:
                if is_open(span, moment) and publishing(facility_id, feed, moment):
                    add(
                        moment,
                        {"type": "heartbeat", "facility_id": facility_id, "feed": feed, "source": SOURCE},
                    )
                moment += low + int(draw() * spread)
            self._next[key] = moment
