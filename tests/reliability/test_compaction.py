"""Compacted changelogs on Apache Kafka: the service creates the tables' changelogs with
`cleanup.policy=compact`; with test-only topic configs (segments rolled every second, any dirt
worth cleaning) the broker compacts them while the worker runs — counted by reading them — and a
worker started afterwards on an empty data dir recovers from the compacted log to metrics equal
to the reference."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from schemas.events import FEEDS
from schemas.registry import Registry
from streams.broker import changelog_topic, ensure_topics
from streams.kafka_broker import KafkaBroker
from streams.process import wait_until
from streams.settings import Settings
from streams.worker_process import WorkerProcess
from tests.conftest import broker_settings
from tests.reliability.harness import fault_log, handled, publish, settled_mismatches

logger = logging.getLogger(__name__)
# Roll a segment every second and clean at the least dirt: compaction within seconds, not days.
QUICK_COMPACTION: Final = {
    "segment.ms": "1000",
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
    "delete.retention.ms": "1000",
}


def changelog_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """The changelogs' topic configs as the broker reports them."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers())
    try:
        names = [changelog_topic(settings, feed) for feed in FEEDS]
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        described = admin.describe_configs(resources)
    finally:
        admin.close()
    # kafka-python 3: {"topic": {name: {config: {"value": ..., ...}}}}
    return {
        name: {key: c["value"] for key, c in configs.items()} for name, configs in described["topic"].items()
    }


def changelog_records(settings: Settings) -> tuple[int, int]:
    """(records in the changelogs now, their end offsets summed = records ever written)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers(), enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(changelog_topic(settings, feed), p)
            for feed in FEEDS
            for p in range(settings.partitions)
        ]
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        consumer.seek_to_beginning(*partitions)
        count = 0
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            count += sum(len(batch) for batch in consumer.poll(timeout_ms=500, max_records=10_000).values())
        return count, sum(ends.values())
    finally:
        consumer.close()


@pytest.mark.slow
def test_changelogs_compact_and_a_new_worker_recovers_from_the_compacted_log(
    kafka: KafkaBroker, registry: Registry, tmp_path: Path
) -> None:
    settings = broker_settings(kafka, "compaction", changelog_topic_configs=QUICK_COMPACTION)
    ensure_topics(settings)
    configs = changelog_configs(settings)
    assert {name: c["cleanup.policy"] for name, c in configs.items()} == {
        changelog_topic(settings, feed): "compact" for feed in FEEDS
    }
    log = fault_log(registry, seed=43)
    first = WorkerProcess(settings, tmp_path, name="before").start().wait_ready()
    try:
        publish(settings, log)
        first.wait_consumed(len(log))
        written = changelog_records(settings)[1]
        # Segments roll only when a record arrives after segment.ms: the worker's periodic writes
        # (the retention sweep, totals) keep coming; wait for the cleaner to have removed some.
        kept = wait_until(
            lambda: (count := changelog_records(settings)[0]) < written and count,
            timeout=120, interval=1.0, what=f"the changelogs compacted below {written} records",
        )  # fmt: skip
    finally:
        first.stop()
    second = WorkerProcess(settings, tmp_path, name="after").start().wait_ready()
    try:
        samples, problems = settled_mismatches(second.scrape, log)
        logger.warning(
            "compaction: %d changelog records written, %d kept after compaction; recovered worker "
            "handled %d of %d", written, kept, handled(samples), len(log),
        )  # fmt: skip
        assert handled(samples) == len(log)
        assert problems == []
    finally:
        second.stop()
