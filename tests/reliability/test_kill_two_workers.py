"""Issue 21: two workers on tansu, `kill -9` of one while the log is being published, a restart
on a fresh data dir; and, on each broker, a worker taking over partitions whose committed offsets
run ahead of their state.

Afterwards the sums over the live workers equal the reference recomputed from the published log,
the handled-message count equals the log's length, and every partition exports its lag exactly
once. Premises are asserted: the kill lands mid-stream, while the group's committed offsets are
behind the log's end (a dead worker commits nothing, so reading them after the kill reads them at
the kill).

What failed before (about one run in two with this timing): the killed worker had not yet
committed some of its partitions; the worker that took them over drained their records during
table recovery and dropped them (aiokafka reads the empty set of partitions Faust asked for as
"all"), and Faust's seek to committed offsets could not put them back, there being none; those
partitions were never processed (streams.resume).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Final

import aiokafka
import pytest
from kafka import KafkaAdminClient, TopicPartition
from kafka.errors import CoordinatorNotAvailableError
from kafka.structs import OffsetAndMetadata

from schemas.events import FEEDS
from schemas.metrics import CONSUMER_LAG, CONSUMER_LAG_UNKNOWN, SHARD_LABEL
from schemas.registry import Registry
from streams.broker import Broker, EmbeddedBroker, ensure_topics
from streams.process import wait_until
from streams.settings import Settings
from streams.worker_process import SampleKey, WorkerProcess
from tests.conftest import broker_settings
from tests.reliability.harness import expected_now, handled, merged_scrape, publish, simulated_log
from tests.support.clock import past_morning
from tests.support.compare import mismatches
from tests.support.reference import Published
from tests.support.stack import committed_total

logger = logging.getLogger(__name__)
Shard = tuple[str, str]  # (feed, partition)
LOG_SPAN: Final = timedelta(hours=6)  # from 08:00 yesterday: >= 20,000 messages at any hour
# Kill as soon as the doomed worker has handled this many messages: before its first commit of
# some partitions in most runs (Faust commits every 2.8 s), the case that lost partitions.
KILL_AFTER_HANDLED: Final = 500
RESTART_AFTER_SECONDS: Final = 1.0
QUIET_SECONDS: Final = 3.0


def _log(registry: Registry, seed: int) -> list[Published]:
    return simulated_log(registry, seed=seed, start=past_morning(), duration=LOG_SPAN)


def _owned(worker: WorkerProcess) -> dict[str, list[int]] | None:
    """The partitions a worker owns per feed, None while it starts or rebalances."""
    health = worker.health()
    return health["partitions"] if health and health["status"] == "ok" else None


def _spread(workers: list[WorkerProcess], settings: Settings) -> None:
    """Until each worker owns some of every feed's partitions and together all, once each."""

    def spread() -> bool:
        owned = [_owned(worker) for worker in workers]
        every = list(range(settings.partitions))
        return all(owned) and all(
            all(o[feed] for o in owned) and sorted(p for o in owned for p in o[feed]) == every  # type: ignore[index]
            for feed in FEEDS
        )

    wait_until(spread, timeout=90, interval=0.3, what=f"partitions spread over {len(workers)} workers")


def _scrape(workers: list[WorkerProcess]) -> dict[SampleKey, float] | None:
    try:
        return merged_scrape(workers)
    except OSError:  # a restarted worker's web server is not up yet
        return None


def _settled(workers: list[WorkerProcess], count: int, *, timeout: float) -> dict[SampleKey, float]:
    """The merged scrape once the workers have handled `count` messages and gone quiet."""
    wait_until(
        lambda: (samples := _scrape(workers)) is not None and handled(samples) >= count,
        timeout=timeout, interval=0.5, what=lambda: f"{count} messages handled; {_tails(workers)}",
    )  # fmt: skip
    last = [handled(merged_scrape(workers)), time.monotonic()]

    def quiet() -> dict[SampleKey, float] | None:
        samples = merged_scrape(workers)
        if handled(samples) != last[0]:
            last[:] = [handled(samples), time.monotonic()]
            return None
        return samples if time.monotonic() - last[1] >= QUIET_SECONDS else None

    return wait_until(quiet, timeout=60, interval=0.5, what="no handled message for a while")


def _tails(workers: list[WorkerProcess]) -> str:
    return " | ".join(f"{worker.name}: {worker.log_tail(5)}" for worker in workers)


def lag_exports(samples: dict[SampleKey, float], name: str = CONSUMER_LAG.name) -> dict[Shard, list[float]]:
    """(feed, partition) -> the values of `name` over the scraped workers."""
    found: dict[Shard, list[float]] = {}
    for sample_name, labels in samples:
        if sample_name == name:
            label = dict(labels)
            found.setdefault((label["feed"], label[SHARD_LABEL]), []).append(samples[(sample_name, labels)])
    return found


def assert_every_partition_caught_up(samples: dict[SampleKey, float], settings: Settings) -> None:
    every = {(feed, str(p)) for feed in FEEDS for p in range(settings.partitions)}
    assert lag_exports(samples) == {pair: [0.0] for pair in every}
    assert lag_exports(samples, CONSUMER_LAG_UNKNOWN.name) == {pair: [0.0] for pair in every}


@pytest.mark.slow
def test_kill_9_of_one_of_two_workers_mid_publish_then_fresh_restart_loses_and_doubles_nothing(
    tansu: EmbeddedBroker, registry: Registry, tmp_path: Path
) -> None:
    settings = broker_settings(tansu, f"kill2-{time.monotonic_ns()}")
    ensure_topics(settings)
    log = _log(registry, seed=21)
    doomed, survivor = (WorkerProcess(settings, tmp_path, name=name) for name in ("w0", "w1"))
    restarted = WorkerProcess(settings, tmp_path, name="w0-fresh")  # its own, empty data dir
    workers = [doomed.start(), survivor.start()]
    try:
        _spread(workers, settings)
        publisher = threading.Thread(target=publish, args=(settings, log))
        publisher.start()
        seen = wait_until(
            lambda: (count := handled(doomed.scrape())) >= KILL_AFTER_HANDLED and count,
            timeout=60, interval=0.05, what=f"the doomed worker handling {KILL_AFTER_HANDLED} messages",
        )  # fmt: skip
        doomed.stop(signal.SIGKILL)
        committed_at_kill = committed_total(settings)
        time.sleep(RESTART_AFTER_SECONDS)
        workers = [restarted.start(), survivor]
        publisher.join(timeout=60)
        assert committed_at_kill < len(log), "the kill landed after the group committed the whole log"
        samples = _settled(workers, len(log), timeout=90)
        logger.warning(
            "two workers, kill -9: doomed worker had handled %d of %d, %d committed at the kill",
            seen, len(log), committed_at_kill,
        )  # fmt: skip
        assert handled(samples) == len(log)
        assert mismatches(samples, expected_now(log)) == []
        assert_every_partition_caught_up(samples, settings)
    finally:
        for worker in (doomed, survivor, restarted):
            worker.stop()


def commit_log_end(settings: Settings) -> None:
    """Commit every source partition at its log end for the worker group, as a worker that died
    after committing but before its changelog writes reached the broker would have."""
    ends = asyncio.run(fetched_ends(settings))
    offsets = {TopicPartition(*tp): OffsetAndMetadata(end, "", -1) for tp, end in ends.items() if end}
    wait_until(lambda: _committed(settings, offsets), timeout=30, what="the group's offsets committed")


async def fetched_ends(settings: Settings, timeout: float = 20.0) -> dict[aiokafka.TopicPartition, int]:
    """Each source partition's end as a Fetch reports it (tansu's ListOffsets is short after a
    multi-record batch: BROKER.md quirk 1)."""
    tps = [
        aiokafka.TopicPartition(settings.topic(feed), p) for feed in FEEDS for p in range(settings.partitions)
    ]
    reader = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers(), enable_auto_commit=False
    )
    await reader.start()
    try:
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends: dict[aiokafka.TopicPartition, int] = {}
        deadline = time.monotonic() + timeout
        while len(ends) < len(tps) and time.monotonic() < deadline:
            await reader.getmany(timeout_ms=200)
            ends |= {tp: end for tp in tps if (end := reader.highwater(tp)) is not None}
        assert len(ends) == len(tps), "some partitions answered no fetch"
        return ends
    finally:
        await reader.stop()


def _committed(settings: Settings, offsets: dict[TopicPartition, OffsetAndMetadata]) -> bool:
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers())
    try:
        admin.alter_group_offsets(settings.app_id, offsets)
    except CoordinatorNotAvailableError:  # a fresh Kafka creates its offsets topic first
        return False
    finally:
        admin.close()
    return True


@pytest.mark.slow
def test_partitions_resume_where_their_state_does_not_at_committed_offsets_beyond_it(
    each_broker: Broker, registry: Registry, tmp_path: Path
) -> None:
    """The issue's condition injected: changelogs empty (recovery finds nothing: highwater -1),
    committed offsets far ahead. Faust alone resumed at the committed offsets and handled
    nothing; the state says nothing was applied, so everything is read."""
    settings = broker_settings(each_broker, f"ahead-{time.monotonic_ns()}")
    ensure_topics(settings)
    log = _log(registry, seed=23)
    publish(settings, log)
    commit_log_end(settings)
    assert committed_total(settings) == len(log), "the group's offsets are not committed at the log end"
    worker = WorkerProcess(settings, tmp_path, name="ahead").start()
    try:
        samples = _settled([worker], len(log), timeout=60)
        assert handled(samples) == len(log)
        assert mismatches(samples, expected_now(log)) == []
        assert_every_partition_caught_up(samples, settings)
        assert "resume behind committed" in worker.log_path.read_text(errors="replace")
    finally:
        worker.stop()
