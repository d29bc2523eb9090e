"""The scrape-time collector: a snapshot of the partitions this worker owns, rendered by the page.

    >>> page = StateCollector(pipeline).exposition()     # the /metrics body

The thin Faust side of /metrics: which partitions are owned and recovered, their table items,
their next offsets and fetch high watermarks. streams.metrics.page turns that into text.
Nothing is counted in prometheus_client objects: every scrape reads the Faust tables, so a
partition's series move with the partition on a rebalance and are never exported twice. While the
worker rebalances or recovers tables, sharded series are withheld (a gap, never a wrong number).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from faust.types import TP

from schemas.events import FEEDS, Feed
from streams.domain.readout import Readout
from streams.domain.state import partition_of
from streams.metrics.page import MetricsPage, PartitionState, Snapshot, WorkerFacts, readout_from
from streams.runtime import Pipeline

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("medalliance")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


class StateCollector:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        settings = pipeline.settings
        self._worker = WorkerFacts(
            version=_version(),
            store=settings.store,
            broker="tansu" if settings.tansu else "kafka",
            policy_hash=settings.policy.hash,
        )
        self._page = MetricsPage()

    def readout(self, now: datetime) -> Readout:
        return readout_from(self.pipeline.settings, self.pipeline.registry.current, now)

    def exposition(self) -> bytes:
        """The /metrics page: the registry's series and those of every partition this worker owns."""
        return self._page.render(self.snapshot(datetime.now(UTC)))

    def snapshot(self, now: datetime) -> Snapshot:
        partitions: dict[Feed, list[PartitionState]] = {}
        for feed in FEEDS:
            owned = self.owned_partitions(feed)
            items = self.partition_items(feed, owned)
            partitions[feed] = [
                PartitionState(
                    partition=partition,
                    items=items.get(partition, []),
                    next_offset=self.pipeline.next_offset(feed, partition),
                    highwater=self.highwater(feed, partition),
                )
                for partition in owned
            ]
        return Snapshot(worker=self._worker, readout=self.readout(now), partitions=partitions)

    def owned_partitions(self, feed: Feed) -> list[int]:
        """Source partitions this worker actively owns, with their tables fully recovered."""
        app = self.pipeline.app
        if app.rebalancing or getattr(app, "in_recovery", False):
            return []
        topic = self.pipeline.topics[feed]
        return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic)

    def partition_items(self, feed: Feed, owned: list[int]) -> dict[int, list[tuple[str, Any]]]:
        wanted = {str(partition) for partition in owned}
        grouped: dict[int, list[tuple[str, Any]]] = defaultdict(list)
        for key, value in self.pipeline.tables[feed].items():
            partition = partition_of(key)  # "" for a key of no partition: nobody exports it
            if partition in wanted and value is not None:
                grouped[int(partition)].append((key, value))
        return grouped

    def highwater(self, feed: Feed, partition: int) -> int | None:
        """The source partition's high watermark from the last fetch, None before any (tansu's
        ListOffsets is wrong: BROKER.md quirk 1)."""
        try:
            highwater = self.pipeline.app.consumer.highwater(TP(self.pipeline.topics[feed], partition))
        except Exception:  # the consumer has not started or no longer holds the partition
            return None
        return None if highwater is None or highwater < 0 else int(highwater)
