"""The collector's progress series: every owned partition says where it stands, known or not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.types import TP

from schemas.metrics import CONSUMER_LAG, CONSUMER_LAG_UNKNOWN, CONSUMER_OFFSET
from streams.metrics.collector import StateCollector
from streams.metrics.exposition import Exposition
from streams.worker_process import parse_metrics

TOPIC = "medalliance.visits"


class _Consumer:
    """aiokafka's highwater as Faust's consumer passes it on: None before the first fetch."""

    def __init__(self, highwaters: dict[int, int | None]) -> None:
        self.highwaters = highwaters

    def highwater(self, tp: TP) -> int | None:
        return self.highwaters[tp.partition]


def _progress(next_offsets: dict[int, int], highwaters: dict[int, int | None]) -> dict[Any, float]:
    pipeline = SimpleNamespace(
        topics={"visits": TOPIC},
        next_offset=lambda feed, partition: next_offsets[partition],
        app=SimpleNamespace(consumer=_Consumer(highwaters)),
    )
    collector = StateCollector(pipeline)  # type: ignore[arg-type]
    page = Exposition()
    for partition in next_offsets:
        collector.partition_progress(page, "visits", partition)
    return parse_metrics(page.render().decode())


def test_caught_up_behind_empty_and_unknown_partitions_each_say_where_they_stand() -> None:
    # 0 caught up, 1 behind by 40, 2 empty (nothing ever written), 3 not fetched since assigned.
    samples = _progress({0: 500, 1: 60, 2: 0, 3: 120}, {0: 500, 1: 100, 2: 0, 3: None})

    def value(name: str, partition: int) -> float | None:
        return samples.get((name, frozenset({("feed", "visits"), ("partition", str(partition))})))

    assert [value(CONSUMER_LAG.name, p) for p in range(4)] == [0.0, 40.0, 0.0, None]
    assert [value(CONSUMER_LAG_UNKNOWN.name, p) for p in range(4)] == [0.0, 0.0, 0.0, 1.0]
    assert [value(CONSUMER_OFFSET.name, p) for p in range(4)] == [500.0, 60.0, 0.0, 120.0]
