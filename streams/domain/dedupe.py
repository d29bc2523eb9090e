"""Idempotency on event_id without transactions (ARCHITECTURE.md, "Exactly-once effects").

    >>> markers = Markers.load(store, partition=3)
    >>> markers.first_sighting(event_id="e-1", offset=42, day=20414, horizon_days=8)
    True      # and again True for a redelivery of offset 42; False for the same id at offset 90
    >>> markers.write_new(cache)   # the batch's new markers, before the totals are written

Each marker records the offset at which its id was first seen: a redelivery of that same message
after a crash is then recognised as the original, not as a duplicate. Ids are kept as 64-bit hashes:
a few bytes each, and an event id never sits in state as given (collisions: ~1e-7 at a million ids
a day).

Why chunks, and an index in memory: a changelog record is the whole value, so a value that grows
with the day's ids would be rewritten whole on every batch (that was 25 KB values per touched
bucket, the largest cost in the profile). Markers are therefore appended to small chunks
`d|<partition>|<day>|<n>` of at most CHUNK ids; only the open chunk of the day is rewritten, and a
full one never again. Finding an id among the chunks needs an index; it is rebuilt from the
partition's chunks whenever the worker (re)gains the partition, so the table stays the one truth.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from streams.domain.state import marker_key, marker_place, marker_prefix, new_marker_chunk, upgrade

# Ids per chunk: small enough that rewriting the open chunk is cheap (≤ ~3 KB), large enough that
# a day of a busy partition is a few thousand keys.
CHUNK: Final = 128


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...
    def put(self, key: str, value: Any) -> None: ...


class Items(Protocol):
    def items(self, prefix: str) -> Iterable[tuple[str, Any]]: ...


def id_hash(event_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")


def _pack(markers: Iterable[tuple[int, int]]) -> str:
    return ",".join(f"{digest:016x}{offset:x}" for digest, offset in markers)


def _unpack(packed: str) -> Iterable[tuple[int, int]]:
    for item in packed.split(",") if packed else ():
        yield int(item[:16], 16), int(item[16:], 16)


@dataclass(slots=True)
class _Day:
    seen: dict[int, int] = field(default_factory=dict)  # id hash -> first offset
    open_chunk: int = 0
    open_packed: str = ""  # the open chunk's value as stored
    open_count: int = 0


@dataclass(slots=True)
class Markers:
    """The dedupe markers of one partition: an index over its chunks, and the batch's new markers."""

    partition: int
    days: dict[int, _Day] = field(default_factory=dict)
    _new: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # day -> new markers

    @classmethod
    def load(cls, store: Items, partition: int) -> Markers:
        markers = cls(partition)
        prefix = marker_prefix(partition)
        for key, value in store.items(prefix):
            if value is None:
                continue
            day_number, chunk = marker_place(key)
            day = markers._day(day_number)
            ids = upgrade(key, value)["ids"]
            count = 0
            for digest, offset in _unpack(ids):
                day.seen.setdefault(digest, offset)
                count += 1
            if chunk >= day.open_chunk:  # the highest chunk of a day is the open one
                day.open_chunk, day.open_packed, day.open_count = chunk, ids, count
        return markers

    def _day(self, day: int) -> _Day:
        found = self.days.get(day)
        if found is None:
            found = self.days[day] = _Day()
        return found

    def first_sighting(self, *, event_id: str, offset: int, day: int, horizon_days: int) -> bool:
        """True when this message is the first with its event_id on the partition (or is that very
        message delivered again); False for a true duplicate. Records the sighting."""
        digest = id_hash(event_id)
        oldest = day - horizon_days
        for marker_day, markers in self.days.items():
            if marker_day >= oldest:
                first = markers.seen.get(digest)
                if first is not None:
                    return first == offset
        self._day(day).seen[digest] = offset
        self._new.setdefault(day, []).append((digest, offset))
        return True

    def write_new(self, cache: Cache) -> None:
        """Append the batch's new markers to the open chunks (a new chunk when one is full)."""
        for day_number, new in self._new.items():
            day = self._day(day_number)
            while new:
                room = CHUNK - day.open_count
                if room <= 0:
                    day.open_chunk, day.open_packed, day.open_count = day.open_chunk + 1, "", 0
                    continue
                taken, new = new[:room], new[room:]
                packed = _pack(taken)
                day.open_packed = f"{day.open_packed},{packed}" if day.open_packed else packed
                day.open_count += len(taken)
                key = marker_key(self.partition, day_number, day.open_chunk)
                cache.put(key, new_marker_chunk(day.open_packed))
        self._new.clear()

    def forget_before(self, oldest_day: int) -> None:
        """Drop the index of days that left the horizon (their chunks are swept from the table)."""
        for day in [day for day in self.days if day < oldest_day]:
            del self.days[day]
