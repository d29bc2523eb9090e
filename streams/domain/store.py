"""Where the pipeline keeps its values: the store protocol, and a dict-backed one for tests.

    >>> store = DictStore({})
    >>> store.set("t|0|", {"o": 3, "c": {}})

The Faust table behind the protocol is streams.runtime.TableStore; the pipeline never sees Faust.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class StateStore(Protocol):
    def get(self, key: str) -> Any | None: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...
    def items(self, prefix: str) -> Iterable[tuple[str, Any]]: ...


class DictStore:
    """A StateStore over a plain dict (tests, reference runs)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def items(self, prefix: str) -> Iterable[tuple[str, Any]]:
        return [(key, value) for key, value in self.data.items() if key.startswith(prefix)]
