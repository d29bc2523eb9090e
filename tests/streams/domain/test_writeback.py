"""The write order a crash relies on: everything else first, the late keys next, the last key last."""

from __future__ import annotations

from typing import Any

from streams.domain.state import VERSION
from streams.domain.writeback import WriteBack


class _Recording:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data, self.writes = data, []  # type: ignore[var-annotated]
        self.reads: list[str] = []

    def get(self, key: str) -> Any | None:
        self.reads.append(key)
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.writes.append(key)

    def delete(self, key: str) -> None: ...

    def items(self, prefix: str) -> list[tuple[str, Any]]:
        return []


def test_each_key_is_read_once_and_written_once_in_the_safe_order() -> None:
    store = _Recording({"t|0|": {"o": 4, "c": {}}})
    cache = WriteBack(store, late_prefix="t|0|", last_key="t|0|")
    assert cache.get("t|0|") == {"version": VERSION, "offset": 4, "counters": {}}  # format 0, upgraded
    cache.get("t|0|")
    for key in ("t|0|", "t|0|3", "b|0|f", "d|0|1|0", "t|0|3", "e|0|f|v"):
        cache.put(key, {})
    cache.flush()
    assert store.reads == ["t|0|"]
    assert store.writes == ["b|0|f", "d|0|1|0", "e|0|f|v", "t|0|3", "t|0|"]
    cache.flush()
    assert len(store.writes) == 5
