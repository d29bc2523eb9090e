"""The retention sweep: a partition's expired state leaves its table, at most once a minute.

    >>> maybe_sweep(pipeline, "visits", partition=3, rules=rules, now=now)   # inside partition_context

What expires is decided by streams.domain.retention (pure); this module only deletes and rewrites
table keys, inside the batch's partition context because deletes are writes. It also writes back
the values it read in an older state format, upgraded, so old state does not stay old forever.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Final

from schemas.events import Feed
from streams.domain.pipeline import Rules
from streams.domain.retention import expired_keys, oldest_marker_day, prune_totals
from streams.domain.state import partition_of, readable
from streams.runtime import Pipeline

logger = logging.getLogger(__name__)
# How often a partition's expired state (old visits, requests, dedupe days) is swept.
_SWEEP_SECONDS: Final = 60.0


def maybe_sweep(pipeline: Pipeline, feed: Feed, partition: int, *, rules: Rules, now: datetime) -> None:
    """Drop state that left the retention horizon (inside the partition context: deletes are writes)."""
    table = pipeline.tables[feed]
    last = pipeline.last_sweep.get((feed, partition), 0.0)
    if time.monotonic() - last < _SWEEP_SECONDS:
        return
    pipeline.last_sweep[(feed, partition)] = time.monotonic()
    wanted = str(partition)
    stored = [(key, value) for key, value in table.items() if partition_of(key) == wanted]
    items = list(readable(stored))
    expired = list(expired_keys(items, rules, now))
    for key in expired:
        table.pop(key, None)
    pipeline.partition_markers(feed, partition).forget_before(oldest_marker_day(rules, now))
    gone = set(expired)
    raw = dict(stored)
    for key, kind, value in items:
        pruned = kind == "totals" and prune_totals(value, rules, now)
        # A value read in an older format is written back upgraded: old state migrates for good.
        if key not in gone and (pruned or value is not raw[key]):
            table[key] = value
    if expired:
        logger.info("swept feed=%s partition=%d expired_keys=%d", feed, partition, len(expired))
