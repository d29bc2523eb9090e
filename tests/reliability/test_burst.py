"""Fault 5: a burst of 10x the county's normal event rate: everything processed, delay recovers.

The normal rate is a fixed figure: the simulator's for the whole registry (every facility,
heartbeats included) on a morning hour, whatever hour the suite runs at. Events are sent live,
paced, with `occurred_at` = the moment they are sent, so the event-delay histogram measures the
pipeline. Scaled down in time, not in rate: a 20 s burst at 10x between short stretches at 1x
(the brief allows a bounded equivalent of the minute).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from schemas.metrics import EVENT_DELAY
from schemas.registry import Registry
from streams.broker import Broker, ensure_topics
from streams.process import wait_until
from streams.settings import Settings
from streams.simulate import encode, generate
from streams.simulate.wire import feed_of_event, message_key
from streams.worker_process import SampleKey, WorkerProcess
from tests.conftest import broker_settings
from tests.reliability.harness import handled, settled_mismatches
from tests.support.clock import past_morning
from tests.support.reference import Published
from tests.support.stack import produce

logger = logging.getLogger(__name__)
MULTIPLIER: Final = 10
# Events/s of the simulated county from 08:00 to 15:00 (6.61-6.71, measured 2026-12-01 over each
# hour; a night hour is ~0.75): fixed, so that the burst is the same at any hour.
NORMAL_RATE: Final = 6.7
BASELINE_SECONDS: Final = 5.0
BURST_SECONDS: Final = 20.0
AFTER_SECONDS: Final = 5.0
RECOVERED_DELAY: Final = 1.0  # seconds: an event sent after the burst is on the wall within this
RECOVERED_SHARE: Final = 0.99


def paced(
    events: Iterator[dict[str, Any]], rate: float, seconds: float, log: list[Published], settings: Settings
) -> Iterator[tuple[str, bytes | None, bytes]]:
    """(topic, key, value) at `rate` per second for `seconds`, each stamped with its send time."""
    began = time.monotonic()
    for sent in range(int(rate * seconds)):
        pause = began + sent / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        event = {**next(events), "occurred_at": datetime.now(UTC).isoformat()}
        message = Published(feed_of_event(event), message_key(event).encode(), encode(event), None)
        log.append(message)
        yield settings.topic(feed_of_event(event)), message.key, message.value


def delay_buckets(samples: dict[SampleKey, float]) -> dict[str, float]:
    buckets: dict[str, float] = {}
    for (name, labels), value in samples.items():
        if name == f"{EVENT_DELAY.name}_bucket":
            bound = dict(labels)["le"]
            buckets[bound] = buckets.get(bound, 0.0) + value
    return buckets


def wait_handled(worker: WorkerProcess, count: int, timeout: float = 60.0) -> float:
    began = time.monotonic()
    wait_until(
        lambda: handled(worker.scrape()) >= count, timeout=timeout, interval=0.1,
        what=f"all {count} burst messages handled",
    )  # fmt: skip
    return time.monotonic() - began


@pytest.mark.slow
def test_ten_times_the_normal_rate_is_all_processed_and_delay_recovers(
    broker: Broker, registry: Registry, tmp_path: Path
) -> None:
    settings = broker_settings(broker, f"burst-{time.monotonic_ns()}")
    ensure_topics(settings)
    rate = NORMAL_RATE
    events = generate(registry, seed=41, start=past_morning(), duration=timedelta(hours=3))
    log: list[Published] = []
    worker = WorkerProcess(settings, tmp_path, name="burst").start().wait_ready()
    try:
        produce(settings, paced(events, rate, BASELINE_SECONDS, log, settings))
        burst_start = len(log)
        produce(settings, paced(events, MULTIPLIER * rate, BURST_SECONDS, log, settings))
        assert len(log) - burst_start == int(MULTIPLIER * NORMAL_RATE * BURST_SECONDS)
        drained = wait_handled(worker, len(log))
        before = delay_buckets(worker.scrape())
        after_start = len(log)
        produce(settings, paced(events, rate, AFTER_SECONDS, log, settings))
        wait_handled(worker, len(log))
        samples = worker.scrape()
        after = delay_buckets(samples)
        fast = after[repr(RECOVERED_DELAY)] - before.get(repr(RECOVERED_DELAY), 0.0)
        count = after["+Inf"] - before.get("+Inf", 0.0)
        logger.warning(
            "burst: normal %.1f ev/s, burst %.0f ev/s for %.0f s (%d events); drained %.2f s after it; "
            "after it %d of %d events within %.1f s",
            rate, MULTIPLIER * rate, BURST_SECONDS, len(log), drained, fast, count, RECOVERED_DELAY,
        )  # fmt: skip
        assert count == len(log) - after_start
        assert fast >= RECOVERED_SHARE * count
        assert handled(samples) == len(log)
        assert settled_mismatches(worker.scrape, log)[1] == []
    finally:
        worker.stop()
