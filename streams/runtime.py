"""The Faust runtime the agents, the collector and the web views share: tables, topics, partition context.

    >>> pipeline = Pipeline(app, settings, registry, tables, topics)   # streams.agents.build_pipeline
    >>> with partition_context(event):                                  # table writes go to its partition
    ...     process_batch(TableStore(pipeline.tables["beds"]), pipeline.rules("beds"), ...)

The one place the pure pipeline (streams.domain) meets Faust's tables: TableStore is its StateStore,
and partition_context makes Faust route table writes to the source partition of a batch.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.streams import _current_event  # Faust routes a table write to the current event's partition
from faust.types import TP

from schemas.events import Feed
from streams.domain.dedupe import Markers
from streams.domain.pipeline import Rules
from streams.domain.totals import resume_offset
from streams.registry_ref import RegistryRef
from streams.settings import Settings


@dataclass
class Pipeline:
    """What the agents share with the collector and the web views."""

    app: faust.App
    settings: Settings
    registry: RegistryRef
    tables: dict[Feed, faust.types.TableT]
    topics: dict[Feed, str]
    last_sweep: dict[tuple[Feed, int], float] = field(default_factory=dict)
    # The dedupe index of each partition, rebuilt from its table on first use after any
    # rebalance (the table may then hold what another worker or the changelog put there).
    markers: dict[tuple[Feed, int], Markers] = field(default_factory=dict)

    def partition_markers(self, feed: Feed, partition: int) -> Markers:
        found = self.markers.get((feed, partition))
        if found is None:
            found = Markers.load(TableStore(self.tables[feed]), partition)
            self.markers[(feed, partition)] = found
        return found

    def forget_markers(self, *_: Any, **__: Any) -> None:
        self.markers.clear()

    def next_offset(self, feed: Feed, partition: int) -> int:
        """The first offset of the source partition its state has not applied."""
        return resume_offset(TableStore(self.tables[feed]), partition)

    def resume_positions(self, feed: Feed) -> dict[TP, int]:
        """Where each source partition of `feed` this worker actively owns resumes."""
        topic = self.topics[feed]
        actives = (tp for tp in self.app.assignor.assigned_actives() if tp.topic == topic)
        return {TP(tp.topic, tp.partition): self.next_offset(feed, tp.partition) for tp in actives}

    def rules(self, feed: Feed) -> Rules:
        return Rules(
            feed=feed,
            registry=self.registry.current,
            retention=self.settings.retention,
            zone=self.settings.zone,
            centers=self.settings.policy.centers,
            referrals=self.settings.policy.referrals,
        )


class TableStore:
    """The pipeline's StateStore over a Faust table, inside one event's partition context."""

    def __init__(self, table: faust.types.TableT) -> None:
        self._table = table

    def get(self, key: str) -> Any | None:
        return self._table.get(key)

    def set(self, key: str, value: Any) -> None:
        self._table[key] = value

    def delete(self, key: str) -> None:
        self._table.pop(key, None)

    def items(self, prefix: str) -> list[tuple[str, Any]]:
        return [(key, value) for key, value in self._table.items() if key.startswith(prefix)]


@contextmanager
def partition_context(event: faust.types.EventT) -> Iterator[None]:
    """Make `event` the current event, so table reads and writes go to its partition.

    Faust allows table writes only "inside stream iteration"; batches from take_events() are
    outside it, so the batch's own event is set explicitly for the duration of its writes."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
