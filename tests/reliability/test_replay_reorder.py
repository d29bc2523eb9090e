"""Fault 4: the whole log published twice changes nothing; the events of each key shuffled change nothing.

Two workers run side by side on separate topics and consumer groups: one gets the log twice, the
other the log with the events of each key (a facility's bed or visit feed, a request) in a random
order. Both must show what the reference computes for the original log, apart from the duplicate
counter of the first, which counts exactly one duplicate per valid event.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Final

import pytest

from schemas.metrics import EVENTS_DUPLICATE
from schemas.registry import Registry
from streams.broker import Broker, ensure_topics
from streams.worker_process import WorkerProcess
from tests.conftest import broker_settings
from tests.reliability.harness import (
    expected_now,
    fault_log,
    publish,
    settled_mismatches,
    shuffled_per_entity,
)
from tests.support.reference import Expected, Published, expected_metrics

SEED: Final = 23


@pytest.mark.slow
def test_log_published_twice_or_shuffled_per_key_gives_the_same_numbers(
    broker: Broker, registry: Registry, tmp_path: Path
) -> None:
    stamp = time.monotonic_ns()
    twice_settings = broker_settings(broker, f"twice-{stamp}")
    shuffled_settings = broker_settings(broker, f"shuffled-{stamp}")
    log = fault_log(registry, seed=SEED)
    shuffled = shuffled_per_entity(log, seed=SEED)
    assert shuffled != log and sorted(m.value for m in shuffled) == sorted(m.value for m in log)
    for settings in (twice_settings, shuffled_settings):
        ensure_topics(settings)
    twice = WorkerProcess(twice_settings, tmp_path, name="twice").start()
    reordered = WorkerProcess(shuffled_settings, tmp_path, name="shuffled").start()
    try:
        twice.wait_ready()
        reordered.wait_ready()
        publish(twice_settings, log)
        publish(shuffled_settings, shuffled)
        twice.wait_consumed(len(log))
        _, first_pass = settled_mismatches(twice.scrape, log)
        publish(twice_settings, log)
        twice.wait_consumed(2 * len(log))
        again = partial(with_duplicates, log=log)
        _, second_pass = settled_mismatches(twice.scrape, log, adjust=again)
        reordered.wait_consumed(len(log))
        _, after_shuffle = settled_mismatches(reordered.scrape, log)

        # The premise, on the reference alone: this reordering leaves the contract's numbers as they were.
        now = datetime.now(UTC)
        reference = partial(expected_metrics, now=now)
        assert reference(shuffled) == reference(log)
        assert first_pass == []
        assert after_shuffle == []
        assert second_pass == []
        # The reference agrees with the rule for the second pass.
        assert expected_now(log + log) == again(expected_now(log))
    finally:
        twice.stop()
        reordered.stop()


def with_duplicates(expected: Expected, *, log: list[Published]) -> Expected:
    """The second pass: every valid event once more, as a duplicate; nothing else moves."""
    doubled = dict(expected)
    for message in log:
        key = (EVENTS_DUPLICATE.name, frozenset({("feed", message.feed)}))
        doubled[key] = doubled.get(key, 0.0) + 1.0
    return doubled
