"""A log through the pure pipeline into dict stores, and the /metrics page of those stores, no Kafka.

    >>> stores = run_log(log, registry, now=now, partitions=4, batch=40)   # {feed: DictStore}
    >>> samples = page_samples(stores, registry, now=now)          # parsed back by prometheus_client

Messages go to partitions by a hash of their key (any assignment that keeps a key on one
partition is a valid one) and are applied in batches in log order, as a worker would.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime

from schemas.events import FEEDS
from schemas.registry import Registry
from streams.domain.dedupe import Markers
from streams.domain.pipeline import Message, Rules, process_batch
from streams.domain.readout import Readout
from streams.domain.state import partition_of
from streams.domain.store import DictStore
from streams.domain.totals import resume_offset
from streams.metrics.page import MetricsPage, PartitionState, Snapshot, WorkerFacts, readout_from
from streams.settings import load_settings
from streams.worker_process import SampleKey, parse_metrics
from tests.support.reference import Published

WORKER = WorkerFacts(version="test", store="memory", broker="kafka", policy_hash="test")


def partition_of_key(key: bytes | None, partitions: int) -> int:
    return zlib.crc32(key or b"") % partitions


def run_log(
    log: list[Published],
    registry: Registry,
    *,
    now: datetime,
    partitions: int,
    batch: int,
    stores: Mapping[str, DictStore] | None = None,
) -> dict[str, DictStore]:
    """Apply `log` to `stores` (new empty ones by default), each partition from its resume offset."""
    settings, out = load_settings(), dict(stores or {feed: DictStore({}) for feed in FEEDS})
    for feed, store in out.items():
        rules = Rules(
            feed=feed,
            registry=registry,
            retention=settings.retention,
            zone=settings.zone,
            centers=settings.policy.centers,
            referrals=settings.policy.referrals,
        )  # type: ignore[arg-type]
        for partition in range(partitions):
            mine = [m for m in log if m.feed == feed and partition_of_key(m.key, partitions) == partition]
            messages = [Message(n, m.value, m.key) for n, m in enumerate(mine)]
            messages = messages[resume_offset(store, partition) :]
            markers = Markers.load(store, partition)
            for first in range(0, len(messages), batch):
                chunk = messages[first : first + batch]
                process_batch(store, rules, partition=partition, messages=chunk, now=now, markers=markers)
    return out


def page_samples(
    stores: Mapping[str, DictStore], registry: Registry, *, now: datetime, partitions: int
) -> dict[SampleKey, float]:
    """The page a worker owning every partition would serve, parsed back."""
    owned = {
        feed: [
            PartitionState(
                partition,
                [(k, v) for k, v in store.data.items() if partition_of(k) == str(partition)],
                resume_offset(store, partition),
                None,
            )
            for partition in range(partitions)
        ]
        for feed, store in stores.items()
    }
    snapshot = Snapshot(WORKER, readout(registry, now), owned)  # type: ignore[arg-type]
    return parse_metrics(MetricsPage().render(snapshot).decode())


def readout(registry: Registry, now: datetime) -> Readout:
    return readout_from(load_settings(), registry, now)
