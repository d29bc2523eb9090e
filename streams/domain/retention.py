"""What leaves the state when it leaves the retention horizon (pure; streams.sweep does the deleting).

>>> expired = list(expired_keys(items, rules, now))   # old visits, requests, dedupe days
>>> changed = prune_totals(totals, rules, now)         # per-day visit counts before yesterday
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from streams.domain.pipeline import DAY_SECONDS, Rules
from streams.domain.state import SEP, VISITS_DAY, KeyKind, TotalsValue, marker_day_of


def oldest_marker_day(rules: Rules, now: datetime) -> int:
    """The oldest day whose dedupe markers are still inside the horizon."""
    return int(now.timestamp() // DAY_SECONDS) - rules.horizon_days


def expired_keys(items: Iterable[tuple[str, KeyKind, Any]], rules: Rules, now: datetime) -> Iterator[str]:
    """Keys of a partition that left the retention horizon: ED visits, requests and cases whose last event
    is older than retention, marker days beyond the horizon. `items` are state.readable's."""
    cutoff = now.timestamp() - rules.retention.total_seconds()
    oldest_day = oldest_marker_day(rules, now)
    for key, kind, value in items:
        entity_expired = kind in ("visit", "request", "case") and value["state"]["last"] < cutoff
        if entity_expired or (kind == "markers" and (marker_day_of(key) or 0) < oldest_day):
            yield key


def prune_totals(totals: TotalsValue, rules: Rules, now: datetime) -> bool:
    """Drop per-day visit counts older than yesterday (only today's are exported). True if changed."""
    yesterday = (now.astimezone(rules.zone).date() - timedelta(days=1)).isoformat()
    day_prefix = VISITS_DAY + SEP
    counters = totals["counters"]
    stale = [k for k in counters if k.startswith(day_prefix) and k.rsplit(SEP, 1)[1] < yesterday]
    for key in stale:
        del counters[key]
    return bool(stale)
