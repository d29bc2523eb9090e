"""The Faust side of /metrics: which partitions are owned, what their tables hold, where they stand."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams.metrics.collector import StateCollector
from streams.settings import load_settings

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
TOPICS = {"beds": "medalliance.beds", "visits": "medalliance.visits", "requests": "medalliance.requests"}


class _Consumer:
    """aiokafka's highwater as Faust's consumer passes it on: None before the first fetch."""

    def __init__(self, highwaters: dict[int, int | None]) -> None:
        self.highwaters = highwaters

    def highwater(self, tp: TP) -> int | None:
        return self.highwaters[tp.partition]


def _collector(*, rebalancing: bool, tables: dict[str, dict[str, Any]]) -> StateCollector:
    actives = [TP(TOPICS["visits"], 1), TP(TOPICS["visits"], 0), TP(TOPICS["beds"], 2)]
    app = SimpleNamespace(
        rebalancing=rebalancing,
        assignor=SimpleNamespace(assigned_actives=lambda: actives),
        consumer=_Consumer({0: 10, 1: None, 2: 7}),
    )
    pipeline = SimpleNamespace(
        app=app,
        settings=load_settings(),
        registry=SimpleNamespace(current=None),
        topics=TOPICS,
        tables=tables,
        next_offset=lambda feed, partition: 5,
    )
    return StateCollector(pipeline)  # type: ignore[arg-type]


def test_owned_partitions_their_items_and_high_waters_make_the_snapshot() -> None:
    # Partition 3 is not owned here; a key of no partition (another release's?) breaks nothing.
    visits = {"t|0|": {"o": 4}, "t|1|": {"o": 2}, "t|3|": {"o": 9}, "e|0|f|v": None, "nonsense": {}}
    collector = _collector(rebalancing=False, tables={"beds": {}, "visits": visits, "requests": {}})
    snapshot = collector.snapshot(NOW)
    owned = {feed: [(s.partition, list(s.items), s.highwater) for s in states]
             for feed, states in snapshot.partitions.items()}  # fmt: skip
    assert owned == {
        "beds": [(2, [], 7)],
        "visits": [(0, [("t|0|", {"o": 4})], 10), (1, [("t|1|", {"o": 2})], None)],
        "requests": [],
    }


def test_nothing_is_owned_while_the_worker_rebalances() -> None:
    collector = _collector(rebalancing=True, tables={"beds": {}, "visits": {"t|0|": {}}, "requests": {}})
    assert all(states == [] for states in collector.snapshot(NOW).partitions.values())
