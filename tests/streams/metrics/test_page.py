"""The /metrics page from a snapshot, without Kafka: read back by prometheus_client's own parser."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from schemas.metrics import CONSUMER_LAG, CONSUMER_LAG_UNKNOWN, CONSUMER_OFFSET, PARTITIONS_OWNED
from schemas.registry import Registry
from streams.metrics.page import MetricsPage, PartitionState, Snapshot
from streams.worker_process import parse_metrics
from tests.support.compare import mismatches
from tests.support.pipeline_run import WORKER, page_samples, readout, run_log
from tests.support.reference import Published, expected_metrics

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
FIXTURE = Path(__file__).parents[2] / "fixtures" / "state_v0.json.gz"


def test_caught_up_behind_empty_and_unknown_partitions_each_say_where_they_stand(registry: Registry) -> None:
    # 0 caught up, 1 behind by 40, 2 empty (nothing ever written), 3 not fetched since assigned.
    states = [
        PartitionState(partition, (), next_offset, highwater)
        for partition, next_offset, highwater in ((0, 500, 500), (1, 60, 100), (2, 0, 0), (3, 120, None))
    ]
    text = MetricsPage().render(Snapshot(WORKER, readout(registry, NOW), {"visits": states}))
    samples = parse_metrics(text.decode())

    def value(name: str, partition: int) -> float | None:
        return samples.get((name, frozenset({("feed", "visits"), ("partition", str(partition))})))

    assert [value(CONSUMER_LAG.name, p) for p in range(4)] == [0.0, 40.0, 0.0, None]
    assert [value(CONSUMER_LAG_UNKNOWN.name, p) for p in range(4)] == [0.0, 0.0, 0.0, 1.0]
    assert [value(CONSUMER_OFFSET.name, p) for p in range(4)] == [500.0, 60.0, 0.0, 120.0]
    assert samples[(PARTITIONS_OWNED.name, frozenset({("feed", "visits")}))] == 4.0


def test_the_page_of_a_processed_log_is_the_reference(registry: Registry) -> None:
    """Every contract series of the page, parsed back, equals the reference recomputed from the
    log (the upgrade test's log: all three feeds, duplicates, malformed messages)."""
    fixture = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    now = datetime.fromisoformat(fixture["now"])
    log = [Published(m["feed"], m["key"].encode(), m["value"].encode(), None) for m in fixture["log"]]
    stores = run_log(log, registry, now=now, partitions=3, batch=25)
    samples = page_samples(stores, registry, now=now, partitions=3)
    assert len(samples) > 1000
    problems = mismatches(samples, expected_metrics(log, now=now))
    assert problems == [], "\n".join(problems)
