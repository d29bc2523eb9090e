"""The /metrics page from a snapshot, without Kafka: read back by prometheus_client's own parser."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.metrics import CONSUMER_LAG, CONSUMER_LAG_UNKNOWN, CONSUMER_OFFSET, PARTITIONS_OWNED
from schemas.registry import Registry
from streams.domain.readout import Readout
from streams.metrics.page import MetricsPage, PartitionState, Snapshot, WorkerFacts
from streams.settings import load_settings
from streams.worker_process import parse_metrics

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
WORKER = WorkerFacts(version="test", store="memory", broker="kafka", policy_hash="0")


def readout(registry: Registry, now: datetime = NOW) -> Readout:
    policy = load_settings().policy
    return Readout(
        registry=registry,
        now=now,
        zone=load_settings().zone,
        long_stay_seconds=policy.emergency.long_stay_hours * 3600.0,
        standards=policy.requests.standards(),
        due_soon_fraction=policy.requests.due_soon_share,
    )


def test_caught_up_behind_empty_and_unknown_partitions_each_say_where_they_stand(registry: Registry) -> None:
    # 0 caught up, 1 behind by 40, 2 empty (nothing ever written), 3 not fetched since assigned.
    states = [
        PartitionState(partition, (), next_offset, highwater)
        for partition, next_offset, highwater in ((0, 500, 500), (1, 60, 100), (2, 0, 0), (3, 120, None))
    ]
    text = MetricsPage().render(Snapshot(WORKER, readout(registry), {"visits": states}))
    samples = parse_metrics(text.decode())

    def value(name: str, partition: int) -> float | None:
        return samples.get((name, frozenset({("feed", "visits"), ("partition", str(partition))})))

    assert [value(CONSUMER_LAG.name, p) for p in range(4)] == [0.0, 40.0, 0.0, None]
    assert [value(CONSUMER_LAG_UNKNOWN.name, p) for p in range(4)] == [0.0, 0.0, 0.0, 1.0]
    assert [value(CONSUMER_OFFSET.name, p) for p in range(4)] == [500.0, 60.0, 0.0, 120.0]
    assert samples[(PARTITIONS_OWNED.name, frozenset({("feed", "visits")}))] == 4.0
