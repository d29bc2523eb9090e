"""What leaves the state when it leaves the retention horizon (pure; streams.sweep does the deleting).

>>> expired = list(expired_keys(items, rules, now))   # old visits, requests, cases, referrals, dedupe days
>>> changed = prune_totals(totals, rules, now)         # per-day counts before the month and yesterday
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Final

from streams.domain.pipeline import DAY_SECONDS, Rules
from streams.domain.state import DAY_SERIES, SEP, KeyKind, TotalsValue, marker_day_of

_ENTITIES: Final[tuple[KeyKind, ...]] = ("visit", "request", "case", "referral")


def oldest_marker_day(rules: Rules, now: datetime) -> int:
    """The oldest day whose dedupe markers are still inside the horizon."""
    return int(now.timestamp() // DAY_SECONDS) - rules.horizon_days


def expired_keys(items: Iterable[tuple[str, KeyKind, Any]], rules: Rules, now: datetime) -> Iterator[str]:
    """Keys of a partition that left the retention horizon: ED visits, requests, cases and referrals
    whose last event is older than retention, marker days beyond the horizon. `items` are
    state.readable's."""
    cutoff = now.timestamp() - rules.retention.total_seconds()
    oldest_day = oldest_marker_day(rules, now)
    for key, kind, value in items:
        entity_expired = kind in _ENTITIES and value["state"]["last"] < cutoff
        if entity_expired or (kind == "markers" and (marker_day_of(key) or 0) < oldest_day):
            yield key


def oldest_kept_date(rules: Rules, now: datetime) -> str:
    """The first local date whose day series are kept: the month's first day, or yesterday when it
    is earlier (on the 1st, yesterday's figure is still today's neighbour on the wall)."""
    today = now.astimezone(rules.zone).date()
    return min(today.replace(day=1), today - timedelta(days=1)).isoformat()


def prune_totals(totals: TotalsValue, rules: Rules, now: datetime) -> bool:
    """Drop the day series (visits, referrals) of dates before oldest_kept_date: the month to date
    and today are exported. True if changed."""
    oldest = oldest_kept_date(rules, now)
    prefixes = tuple(series + SEP for series in DAY_SERIES)
    counters = totals["counters"]
    stale = [k for k in counters if k.startswith(prefixes) and k.rsplit(SEP, 1)[1] < oldest]
    for key in stale:
        del counters[key]
    return bool(stale)
