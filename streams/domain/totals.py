"""A partition's totals: counters, histograms and last-seen times, split into a few values by facility.

    >>> totals = Totals(cache, partition=3)
    >>> totals.apply([inc(EVENTS, "beds", "bed.admit")], offset=42)   # at most once per offset and value
    >>> resume_offset(store, partition=3)                              # 43 once the batch is flushed

Totals are split into TOTALS_BUCKETS values by facility (`t|<p>|<bucket>`, and `t|<p>|` for the
feed-wide series): one value holding every counter of the partition would be rewritten whole on
each batch, its changelog record growing with the registry (74 KB at 1,360 facilities), while a
value per facility would cost a changelog record per facility touched, and a record costs far
more than its bytes. A few buckets bound both.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Final

from streams.domain.effects import Effect, apply_effects
from streams.domain.state import DAY_SERIES, SEP, TotalsValue, new_totals, spec_of, totals_key, upgrade
from streams.domain.store import StateStore
from streams.domain.writeback import WriteBack

TOTALS_BUCKETS: Final = 8


def resume_offset(store: StateStore, partition: int) -> int:
    """The first source offset the partition's state has not applied: where reading resumes.

    The feed-wide totals are written last in every batch and a crash loses a suffix of a batch's
    writes, so everything before their offset is in the state, whatever else was lost."""
    key = totals_key(partition)
    totals = store.get(key)
    return 0 if totals is None else int(upgrade(key, totals)["offset"]) + 1


# The label a series is bucketed by: its facility, else its sender (a referral pair's series would
# otherwise all sit in the feed-wide value, the one rewritten by every batch).
_FACILITY_LABELS: Final = ("facility", "from_facility")


@lru_cache(maxsize=65_536)
def _bucket_of_series(key: str) -> str:
    """Which totals value keeps a series: its facility's bucket, "" for feed-wide series."""
    series, *labels = key.split(SEP)
    day = DAY_SERIES.get(series)
    spec = day.today if day is not None else spec_of(series)
    named = [name for name in _FACILITY_LABELS if spec is not None and name in spec.labels]
    if spec is None or not named:
        return ""
    facility = labels[spec.labels.index(named[0])]
    return str(zlib.crc32(facility.encode()) % TOTALS_BUCKETS)


class Totals:
    """The partition's totals values touched by a batch, each applied at most once per offset."""

    def __init__(self, cache: WriteBack, partition: int) -> None:
        self._cache = cache
        self._partition = partition
        self.feed = self._value("")[1]

    def _value(self, bucket: str) -> tuple[str, TotalsValue]:
        key = totals_key(self._partition, bucket)
        value = self._cache.get(key)
        if value is None:
            value = new_totals()
            self._cache.put(key, value)
        return key, value

    def apply(self, effects: list[Effect], offset: int) -> None:
        by_bucket: dict[str, list[Effect]] = {}
        for effect in effects:
            by_bucket.setdefault(_bucket_of_series(effect[1]), []).append(effect)
        by_bucket.setdefault("", [])  # the feed-wide offset moves with every message
        for bucket, routed in by_bucket.items():
            key, value = self._value(bucket)
            if offset <= value["offset"]:
                continue  # written before a crash that lost the feed-wide totals
            apply_effects(value["counters"], routed)
            value["offset"] = offset
            self._cache.put(key, value)
