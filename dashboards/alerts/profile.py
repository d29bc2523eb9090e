"""Timing profiles: the production rules and a TEST variant with shortened durations.

    >>> PRODUCTION.window(2 * HOUR), TEST.window(2 * HOUR)
    ('2h', '2m')

Only `for:` durations, range windows, look-back offsets and Alertmanager timers scale;
thresholds (90%, 5 min of silence, time standards) never do, so the test variant fires on
the same conditions, sooner. Scenarios back-date `occurred_at` instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MINUTE: Final = 60
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR


def duration(seconds: float) -> str:
    """Prometheus duration text for a whole number of seconds: 5400 -> '1h30m', 0 -> '0s'."""
    total = round(seconds)
    if total <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Profile:
    """How long things take: `scale` multiplies every duration, floored for windows."""

    name: str
    scale: float
    scrape_interval_seconds: int
    # A range window needs several samples: never shorter than this many scrape intervals.
    min_window_scrapes: int = 4

    def for_(self, seconds: float) -> str:
        """An alert's `for:` (may scale to 0s)."""
        return duration(seconds * self.scale)

    def window(self, seconds: float) -> str:
        """A range-vector window or offset, kept wide enough to hold several scrapes."""
        floor = self.scrape_interval_seconds * self.min_window_scrapes
        return duration(max(seconds * self.scale, floor))

    def timer(self, seconds: float) -> str:
        """An Alertmanager timer (group_wait, group_interval, repeat_interval), at least 1 s."""
        return duration(max(seconds * self.scale, 1))


PRODUCTION: Final = Profile("production", scale=1.0, scrape_interval_seconds=15)
# 1/60: an hour becomes a minute. Scrapes every second so a 4 s window still holds samples.
TEST: Final = Profile("test", scale=1 / 60, scrape_interval_seconds=1)
