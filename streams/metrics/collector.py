"""The scrape-time collector: metrics read from the table state of the partitions this worker owns.

    >>> registry = CollectorRegistry()
    >>> registry.register(StateCollector(pipeline))

Nothing is counted in prometheus_client objects: every scrape reads the Faust tables, so a
partition's series move with the partition on a rebalance and are never exported twice. While the
worker rebalances or recovers tables, sharded series are withheld (a gap, never a wrong number).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from faust.types import TP
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas.events import CATEGORIES, FEEDS, STANDARD_STAGES, Feed
from streams.agents import Pipeline
from streams.domain.readout import Readout, partition_samples
from streams.metrics.catalog import (
    CATALOG,
    CONSUMER_LAG,
    ED_BEDS,
    FACILITY_INFO,
    FACILITY_OPEN,
    PARTITIONS_OWNED,
    STATE_KEYS,
    WORKER_INFO,
    MetricSpec,
)

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("medalliance")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


class _Families:
    """One metric family per catalog entry, created on first use."""

    def __init__(self) -> None:
        self._families: dict[str, Metric] = {}

    def add(self, spec: MetricSpec, labels: Iterable[str], value: Any) -> None:
        family = self._families.get(spec.name)
        if family is None:
            family = self._new(spec)
            self._families[spec.name] = family
        if spec.type == "histogram":
            counts, total = value
            cumulative, buckets = 0, []
            for bound, count in zip((*spec.buckets, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            family.add_metric(list(labels), buckets, total)  # type: ignore[attr-defined]
        else:
            family.add_metric(list(labels), value)  # type: ignore[attr-defined]

    @staticmethod
    def _new(spec: MetricSpec) -> Metric:
        labels = list(spec.series_labels)
        if spec.type == "counter":
            return CounterMetricFamily(spec.name, spec.help, labels=labels)
        if spec.type == "histogram":
            return HistogramMetricFamily(spec.name, spec.help, labels=labels)
        return GaugeMetricFamily(spec.name, spec.help, labels=labels)

    def __iter__(self) -> Iterator[Metric]:
        order = {spec.name: index for index, spec in enumerate(CATALOG)}
        return iter(sorted(self._families.values(), key=lambda f: order.get(f.name, len(order))))


class StateCollector(Collector):
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._version = _version()

    def readout(self, now: datetime) -> Readout:
        settings = self.pipeline.settings
        return Readout(
            registry=self.pipeline.registry.current,
            now=now,
            zone=settings.zone,
            long_stay_seconds=settings.ed_long_stay_hours * 3600.0,
            standards={
                (category, stage): settings.standard_seconds(category, stage)
                for category in CATEGORIES
                for stage in STANDARD_STAGES
            },
            due_soon_fraction=settings.due_soon_fraction,
        )

    def collect(self) -> Iterable[Metric]:
        families = _Families()
        now = datetime.now(UTC)
        self._registry_metrics(families, now)
        readout = self.readout(now)
        for feed in FEEDS:
            owned = self.owned_partitions(feed)
            families.add(PARTITIONS_OWNED, (feed,), float(len(owned)))
            for partition, items in self.partition_items(feed, owned).items():
                labels_tail = (str(partition),)
                families.add(STATE_KEYS, (feed, *labels_tail), float(len(items)))
                for spec, labels, value in partition_samples(items, readout):
                    families.add(spec, (*labels, *labels_tail), value)
                lag = self.lag(feed, partition)
                if lag is not None:
                    families.add(CONSUMER_LAG, (feed, *labels_tail), float(lag))
        return list(families)

    def _registry_metrics(self, families: _Families, now: datetime) -> None:
        settings = self.pipeline.settings
        families.add(
            WORKER_INFO, (self._version, settings.store, "tansu" if settings.tansu else "kafka"), 1.0
        )
        local = now.astimezone(settings.zone)
        for facility in self.pipeline.registry.current.facilities.values():
            families.add(
                FACILITY_INFO,
                (facility.id, facility.name, facility.name_en, facility.level, facility.township),
                1.0,
            )
            families.add(ED_BEDS, (facility.id,), float(facility.ed_beds))
            hours = facility.opening_hours
            families.add(FACILITY_OPEN, (facility.id,), 1.0 if hours is None or hours.is_open(local) else 0.0)

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

    def lag(self, feed: Feed, partition: int) -> int | None:
        """Messages behind the fetch high watermark (tansu's ListOffsets is wrong: BROKER.md quirk 1)."""
        topic = self.pipeline.topics[feed]
        try:
            highwater = self.pipeline.app.consumer.highwater(TP(topic, partition))
        except Exception:  # no fetch yet for this partition
            return None
        if highwater is None or highwater < 0:
            return None
        processed = self.pipeline.processed_offsets.get((topic, partition), -1)
        return max(0, int(highwater) - processed - 1)
