"""A batch's view of the store: reads go through once, writes land once per key at the end, in order.

    >>> cache = WriteBack(store, late_prefix="t|3|", last_key="t|3|")
    >>> cache.put("b|3|yx-ch-people", beds)     # kept until flush
    >>> cache.flush()                           # entity values, then bucket totals, the feed-wide totals last

The order is what makes a crash safe without transactions (streams.domain.pipeline): a crash loses
a suffix of a batch's writes, and the value written last (the feed-wide totals) decides where
reading resumes, so it must never be on the disk before the values it vouches for.
"""

from __future__ import annotations

from typing import Any

from streams.domain.state import upgrade
from streams.domain.store import StateStore


class WriteBack:
    """Reads through to the store; writes once per key per batch: keys under `late_prefix` after
    everything else, `last_key` last of all."""

    def __init__(self, store: StateStore, *, late_prefix: str, last_key: str) -> None:
        self._store = store
        self._values: dict[str, Any] = {}
        self._dirty: dict[str, None] = {}
        self._late_prefix = late_prefix
        self._last_key = last_key

    def get(self, key: str) -> Any | None:
        """The key's value in the current format (state.upgrade: StateVersionError for a newer one)."""
        if key not in self._values:
            value = self._store.get(key)
            self._values[key] = None if value is None else upgrade(key, value)
        return self._values[key]

    def put(self, key: str, value: Any) -> None:
        self._values[key] = value
        self._dirty[key] = None

    def flush(self) -> None:
        late = [key for key in self._dirty if key.startswith(self._late_prefix)]
        for key in self._dirty:
            if not key.startswith(self._late_prefix):
                self._store.set(key, self._values[key])
        for key in sorted(late, key=lambda key: key == self._last_key):
            self._store.set(key, self._values[key])
        self._dirty.clear()
