"""Fault 2: two workers, then three (one added mid-stream), then two (one removed mid-stream).

Throughout, scrapes of all live workers taken at the same moment never export the same partition
twice; at the end the live workers own every partition once, and the sums over workers equal the
reference for the whole log (a stale or doubled series would break the sums).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

import pytest

from schemas.events import FEEDS
from schemas.metrics import SHARD_LABEL, STATE_KEYS
from schemas.registry import Registry
from streams.broker import Broker, ensure_topics
from streams.process import wait_until
from streams.settings import Settings
from streams.worker_process import SampleKey, WorkerProcess
from tests.conftest import broker_settings
from tests.reliability.harness import (
    fault_log,
    handled,
    merged_scrape,
    publish,
    settled_mismatches,
)
from tests.support.reference import Published

logger = logging.getLogger(__name__)
OwnedSet = set[tuple[str, str]]  # (feed, partition)
POLL_SECONDS: Final = 0.2


def owned_series(samples: dict[SampleKey, float]) -> OwnedSet:
    """(feed, partition) pairs a scrape exports sharded state for."""
    owned: OwnedSet = set()
    for name, labels in samples:
        if name == STATE_KEYS.name:
            label = dict(labels)
            owned.add((label["feed"], label[SHARD_LABEL]))
    return owned


class OverlapWatch:
    """Scrapes every live worker at the same moment, over and over; records any partition exported
    by two workers in one round.

    It paces itself with `time.sleep` and a flag, not `Event.wait(timeout)` or a timed `join`: under
    libfaketime (docs/reliability.md) a timed lock wait takes the faked monotonic deadline for a
    real one and blocks for the whole offset, while `sleep` is relative."""

    def __init__(self) -> None:
        self.workers: list[WorkerProcess] = []
        self.overlaps: list[str] = []
        self.rounds = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._pool = ThreadPoolExecutor(max_workers=4)

    def __enter__(self) -> OverlapWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        self._thread.join()  # one round at most: every scrape has its own timeout
        self._pool.shutdown()

    def _run(self) -> None:
        while not self._stopping:
            time.sleep(POLL_SECONDS)
            workers = list(self.workers)
            scrapes = list(self._pool.map(_owned_or_none, workers))
            seen: dict[tuple[str, str], str] = {}
            for worker, owned in zip(workers, scrapes, strict=True):
                for pair in owned or set():
                    if pair in seen:
                        self.overlaps.append(f"{pair} exported by {seen[pair]} and {worker.url}")
                    seen[pair] = worker.url
            self.rounds += 1


def _owned_or_none(worker: WorkerProcess) -> OwnedSet | None:
    try:
        return owned_series(worker.scrape())
    except OSError:
        return None  # starting or stopping


def _health_owned(worker: WorkerProcess) -> OwnedSet:
    """What the worker says it owns, once it is not rebalancing or recovering."""
    health = worker.health()
    if not health or health["status"] != "ok":
        return set()
    return {(feed, str(p)) for feed, partitions in health["partitions"].items() for p in partitions}


def wait_spread(workers: list[WorkerProcess], settings: Settings, timeout: float = 90.0) -> float:
    """Seconds until every live worker owns some partitions and together all of them, once each."""
    every = {(feed, str(p)) for feed in FEEDS for p in range(settings.partitions)}
    began = time.monotonic()

    def spread() -> bool:
        owned = [_health_owned(worker) for worker in workers]
        return all(owned) and set().union(*owned) == every and sum(map(len, owned)) == len(every)

    wait_until(spread, timeout=timeout, interval=POLL_SECONDS, what=f"partitions spread over {len(workers)}")
    return time.monotonic() - began


def wait_all_handled(
    workers: list[WorkerProcess], count: int, timeout: float = 120.0
) -> dict[SampleKey, float]:
    def all_handled() -> dict[SampleKey, float] | None:
        samples = merged_scrape(workers)
        return samples if handled(samples) >= count else None

    return wait_until(all_handled, timeout=timeout, interval=0.5, what=f"workers handling {count} messages")


def thirds(log: list[Published]) -> list[list[Published]]:
    size = len(log) // 3
    return [log[:size], log[size : 2 * size], log[2 * size :]]


@pytest.mark.slow
def test_added_and_removed_workers_export_each_partition_once_and_sum_to_the_truth(
    broker: Broker, registry: Registry, tmp_path: Path
) -> None:
    settings = broker_settings(broker, f"rebalance-{time.monotonic_ns()}")
    ensure_topics(settings)
    log = fault_log(registry, seed=17)
    first, second, third = thirds(log)
    one, two, three = (WorkerProcess(settings, tmp_path, name=f"w{i}") for i in (1, 2, 3))
    with OverlapWatch() as watch:
        try:
            watch.workers = [one.start(), two.start()]
            wait_spread([one, two], settings)
            publish(settings, first)
            wait_all_handled([one, two], len(first))
            watch.workers = [one, two, three.start()]
            publish(settings, second)
            added = wait_spread([one, two, three], settings)
            wait_all_handled([one, two, three], len(first) + len(second))
            watch.workers = [two, three]
            one.stop()
            removed_at = time.monotonic()
            publish(settings, third)
            removed = wait_spread([two, three], settings)
            wait_all_handled([two, three], len(log))
            caught_up = time.monotonic() - removed_at
            rounds = watch.rounds
            wait_until(
                lambda: watch.rounds >= rounds + 2, timeout=30, what="two overlap-watch rounds at the end"
            )
            samples, problems = settled_mismatches(lambda: merged_scrape([two, three]), log)
        finally:
            for worker in (one, two, three):
                worker.stop()
    logger.warning(
        "rebalance: third worker spread in %.1f s, after removal spread %.1f s and caught up %.1f s; "
        "%d overlap-watch rounds", added, removed, caught_up, watch.rounds,
    )  # fmt: skip
    assert watch.rounds > 20
    assert watch.overlaps == []
    assert handled(samples) == len(log)
    assert problems == []
