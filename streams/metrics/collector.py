"""The scrape-time collector: metrics read from the table state of the partitions this worker owns.

    >>> page = StateCollector(pipeline).exposition()     # the /metrics body

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
from schemas.metrics import (
    CONSUMER_LAG,
    CONSUMER_LAG_UNKNOWN,
    CONSUMER_OFFSET,
    ED_BEDS,
    FACILITY_INFO,
    FACILITY_OPEN,
    PARTITIONS_OWNED,
    POLICY_INFO,
    STATE_KEYS,
    WORKER_INFO,
)
from streams.agents import Pipeline
from streams.domain.readout import Readout, partition_samples
from streams.metrics.exposition import Exposition, sample_lines

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("medalliance")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


class StateCollector:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._version = _version()
        # The registry's own series change only with the registry (and opening hours by the
        # minute): formatted once and reused, they are a third of a province-scale scrape.
        self._registry_block: tuple[object, list[str], list[str]] | None = None
        self._open_block: tuple[object, str, list[str]] | None = None

    def readout(self, now: datetime) -> Readout:
        settings = self.pipeline.settings
        policy = settings.policy
        return Readout(
            registry=self.pipeline.registry.current,
            now=now,
            zone=settings.zone,
            long_stay_seconds=policy.emergency.long_stay_hours * 3600.0,
            standards=policy.requests.standards(),
            due_soon_fraction=policy.requests.due_soon_share,
        )

    def exposition(self) -> bytes:
        """The /metrics page: the registry's series and those of every partition this worker owns."""
        page = Exposition()
        now = datetime.now(UTC)
        self._registry_metrics(page, now)
        readout = self.readout(now)
        for feed in FEEDS:
            owned = self.owned_partitions(feed)
            page.add(PARTITIONS_OWNED, (feed,), float(len(owned)))
            for partition, items in self.partition_items(feed, owned).items():
                labels_tail = (str(partition),)
                page.add(STATE_KEYS, (feed, *labels_tail), float(len(items)))
                for spec, labels, value in partition_samples(items, readout):
                    page.add(spec, (*labels, *labels_tail), value)
            for partition in owned:  # an empty partition has no state but is owned all the same
                self.partition_progress(page, feed, partition)
        return page.render()

    def partition_progress(self, page: Exposition, feed: Feed, partition: int) -> None:
        """Where an owned partition stands: its next offset, and its lag or that the lag is unknown."""
        labels = (feed, str(partition))
        next_offset = self.pipeline.next_offset(feed, partition)
        page.add(CONSUMER_OFFSET, labels, float(next_offset))
        highwater = self.highwater(feed, partition)
        page.add(CONSUMER_LAG_UNKNOWN, labels, 0.0 if highwater is not None else 1.0)
        if highwater is not None:
            page.add(CONSUMER_LAG, labels, float(max(0, highwater - next_offset)))

    def _registry_metrics(self, page: Exposition, now: datetime) -> None:
        settings = self.pipeline.settings
        page.add(WORKER_INFO, (self._version, settings.store, "tansu" if settings.tansu else "kafka"), 1.0)
        page.add(POLICY_INFO, (settings.policy.hash,), 1.0)
        registry = self.pipeline.registry.current
        if self._registry_block is None or self._registry_block[0] is not registry:
            info: list[str] = []
            ed_beds: list[str] = []
            for facility in registry.facilities.values():
                labels = (facility.id, facility.name, facility.name_en, facility.level, facility.township)
                info += sample_lines(FACILITY_INFO, labels, 1.0)
                ed_beds += sample_lines(ED_BEDS, (facility.id,), float(facility.ed_beds))
            self._registry_block = (registry, info, ed_beds)
        page.add_lines(FACILITY_INFO, self._registry_block[1])
        page.add_lines(ED_BEDS, self._registry_block[2])
        local = now.astimezone(settings.zone)
        minute = local.strftime("%Y-%m-%dT%H:%M")
        if self._open_block is None or self._open_block[:2] != (registry, minute):
            lines: list[str] = []
            for facility in registry.facilities.values():
                hours = facility.opening_hours
                is_open = hours is None or hours.is_open(local)
                lines += sample_lines(FACILITY_OPEN, (facility.id,), 1.0 if is_open else 0.0)
            self._open_block = (registry, minute, lines)
        page.add_lines(FACILITY_OPEN, self._open_block[2])

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
            partition = key.split("|", 2)[1]
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
