"""What end-to-end tests add to a worker process (streams/worker_process.py): a producer for raw
messages, the group's committed offsets, and sums over a scrape as the rules take them.

    >>> produce(settings, [("medalliance.beds", b"yx-ch-people", b"{...}")])
    >>> total(worker.scrape(), "medalliance_beds_occupied")
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kafka import KafkaAdminClient, KafkaProducer

from schemas.events import FEEDS
from streams.settings import Settings
from streams.worker_process import SampleKey

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def total(
    samples: dict[SampleKey, float], name: str, drop: Iterable[str] = ("partition", "instance")
) -> dict[frozenset[tuple[str, str]], float]:
    """Aggregate a metric without the `drop` labels, as the rules do: `sum without (instance,
    partition)`, or `max without (...)` for timestamps."""
    dropped = set(drop)
    combine = max if name.endswith("_timestamp_seconds") else (lambda a, b: a + b)
    sums: dict[frozenset[tuple[str, str]], float] = {}
    for (sample_name, labels), value in samples.items():
        if sample_name == name:
            key = frozenset((k, v) for k, v in labels if k not in dropped)
            sums[key] = combine(sums[key], value) if key in sums else value
    return sums


def produce(settings: Settings, messages: Iterable[tuple[str, bytes | None, bytes]]) -> int:
    """Publish raw (topic, key, value) messages in order; return how many."""
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers(), acks="all", linger_ms=5)
    count = 0
    try:
        for topic, key, value in messages:
            producer.send(topic, key=key, value=value)
            count += 1
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return count


def committed_total(settings: Settings) -> int:
    """The sum of the worker group's committed offsets over its source topics: how many source
    messages the group has committed as done (a Faust app's id is its consumer group)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers())
    try:
        committed = admin.list_group_offsets(settings.app_id)[settings.app_id]
    finally:
        admin.close()
    sources = {settings.topic(feed) for feed in FEEDS}
    return sum(max(0, meta.offset) for tp, meta in committed.items() if tp.topic in sources)
