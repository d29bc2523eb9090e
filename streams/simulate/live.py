"""Live publishing on a virtual clock that never runs ahead of the real one.

With speed X and duration D, the simulated window starts at now − backdate − D·(X−1)/X and the
virtual clock at now − D·(X−1)/X: the first `backdate` of the window is published at once
(already "old"), then time runs X times faster than real time and reaches the real now just
as the window ends. The virtual clock is also clamped to the real clock, so no event is ever
published with an occurred_at in the future (an unbounded run uses D = 1 day for the lead,
then continues in real time).

    >>> window = LiveWindow.plan(now, duration=timedelta(hours=1), speed=60, backdate=timedelta(0))
    >>> report = asyncio.run(publish_live(settings, events, window))
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from streams.publish import Publisher, PublishReport, event_message
from streams.settings import Settings

UNBOUNDED_LEAD_SPAN: Final = timedelta(days=1)
_MAX_SLEEP: Final = 0.5  # seconds; keeps Ctrl-C and progress responsive


@dataclass(frozen=True)
class LiveWindow:
    start: datetime  # first occurred_at of the simulated window
    virtual_start: datetime  # what the virtual clock reads when publishing starts
    speed: float
    real_start: float  # time.time() when publishing starts

    @classmethod
    def plan(
        cls, now: datetime, *, duration: timedelta | None, speed: float, backdate: timedelta
    ) -> LiveWindow:
        span = duration if duration is not None else UNBOUNDED_LEAD_SPAN
        lead = span * ((speed - 1) / speed) if speed > 1 else timedelta(0)
        virtual_start = now - lead
        return cls(virtual_start - backdate, virtual_start, speed, now.timestamp())

    def now(self) -> float:
        """The virtual clock (epoch seconds), never ahead of the real clock."""
        real = time.time()
        return min(real, self.virtual_start.timestamp() + (real - self.real_start) * self.speed)


async def publish_live(
    settings: Settings,
    events: Iterable[dict[str, Any]],
    window: LiveWindow,
    *,
    on_event: Callable[[dict[str, Any], float], None] | None = None,
) -> PublishReport:
    """Publish each event once the virtual clock has reached its occurred_at."""
    async with Publisher(settings) as publisher:
        for event in events:
            due = datetime.fromisoformat(event["occurred_at"]).timestamp()
            while (wait := due - window.now()) > 0:
                await publisher.flush()  # deliver what is due before idling
                await asyncio.sleep(min(wait / window.speed, _MAX_SLEEP))
            await publisher.send(event_message(settings, event), event_type=event["type"])
            if on_event is not None:
                on_event(event, window.now())
    return publisher.report


def utc_now() -> datetime:
    return datetime.now(UTC)
