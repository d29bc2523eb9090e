"""Idempotency on event_id without transactions (ARCHITECTURE.md, "Exactly-once effects").

    >>> first_sighting(cache, partition=3, event_id="e-1", offset=42, day=20414, horizon_days=8)
    True      # and again True for a redelivery of offset 42; False for the same id at offset 90

Markers live in day buckets split into slots (`d|<partition>|<day>|<slot>`), so that a value stays
small and a whole day is dropped at once when it leaves the retention horizon. Each marker records
the offset at which the id was first seen: a redelivery of that same message after a crash is then
recognised as the original, not as a duplicate. Ids are stored as 64-bit hashes: a few bytes
each, and an event id never sits in state as given (collisions: ~1e-7 at a million ids a day).
"""

from __future__ import annotations

import hashlib
from typing import Any, Final, Protocol

SLOTS: Final = 16


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...
    def put(self, key: str, value: Any) -> None: ...


def id_hash(event_id: str) -> str:
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


def marker_key(partition: int, day: int, slot: int) -> str:
    return f"d|{partition}|{day}|{slot}"


def first_sighting(
    cache: Cache, *, partition: int, event_id: str, offset: int, day: int, horizon_days: int
) -> bool:
    """True when this message is the first with its event_id on the partition (or is that very
    message delivered again); False for a true duplicate. Records the sighting."""
    digest = id_hash(event_id)
    slot = int(digest[:4], 16) % SLOTS
    for bucket_day in range(day - horizon_days, day + 1):
        bucket = cache.get(marker_key(partition, bucket_day, slot))
        if bucket is not None and digest in bucket:
            return bool(bucket[digest] == offset)
    key = marker_key(partition, day, slot)
    bucket = cache.get(key) or {}
    bucket[digest] = offset
    cache.put(key, bucket)
    return True


def marker_day_of(key: str) -> int | None:
    """The day of a marker key, None for other keys."""
    parts = key.split("|")
    return int(parts[2]) if parts[0] == "d" else None
