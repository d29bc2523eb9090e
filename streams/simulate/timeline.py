"""The simulator's agenda: events waiting for their occurred_at, released in time order.

>>> agenda = Agenda(prefix="s1a2b")
>>> agenda.add(moment, {"type": "heartbeat", ...})   # fills event_id/occurred_at
>>> list(agenda.pop_until(end))
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from streams.simulate.clock import wire_time_of_second

Event = dict[str, Any]


class Agenda:
    """Pending (time, sequence, event) entries; the sequence keeps ties in insertion order.

    A plain list sorted per chunk rather than a heap: nearly everything scheduled in a chunk
    (heartbeats above all) is released in that same chunk, and one C-level sort of the due
    entries is several times cheaper than a heap push and pop per event.
    """

    def __init__(self, prefix: str) -> None:
        self._pending: list[tuple[float, int, Event]] = []
        self._sequence = 0
        self._prefix = prefix
        self.floor = float("-inf")  # where the last release ended: an event before it would come late

    def add(self, moment: datetime, body: Event) -> Event:
        """Schedule an event; event_id and occurred_at are filled in here, the envelope completed."""
        return self.add_at(moment.timestamp(), body)

    def add_at(self, epoch: float, body: Event) -> Event:
        """`add` at an epoch time, truncated to the whole second (the hot path: heartbeats)."""
        self._sequence += 1
        second = int(epoch)
        event: Event = {
            "event_id": f"{self._prefix}-{self._sequence:x}",
            "schema_version": 1,
            "occurred_at": wire_time_of_second(second),
            **body,
        }
        self._pending.append((float(second), self._sequence, event))
        return event

    def pop_until(self, end: datetime) -> Iterator[tuple[float, Event]]:
        """Release every event strictly before `end`, in (time, insertion) order."""
        limit = end.timestamp()
        self.floor = max(self.floor, limit)
        due = [entry for entry in self._pending if entry[0] < limit]
        self._pending = [entry for entry in self._pending if entry[0] >= limit]
        due.sort(key=lambda entry: (entry[0], entry[1]))
        for moment, _, event in due:
            yield moment, event

    def __len__(self) -> int:
        return len(self._pending)
