"""Fault 1: `kill -9` of the worker in the middle of a stream, then a restart (memory and RocksDB;
and with static group membership, where the restarted worker rejoins under the same instance id).

Afterwards every contract metric equals the reference recomputed from the published log, and the
handled-message count equals the log's length exactly: nothing missing, nothing counted twice.
The premise is asserted: when the kill lands, the group's committed offsets are behind the log's
end (a dead worker commits nothing, so reading them after the kill reads them at the kill).
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path

import pytest

from schemas.registry import Registry
from streams.broker import Broker, ensure_topics
from streams.process import wait_until
from streams.worker_process import WorkerProcess
from tests.conftest import broker_settings
from tests.reliability.harness import (
    fault_log,
    handled,
    leaked_pseudonyms,
    publish,
    settled_mismatches,
)
from tests.support.stack import committed_total

logger = logging.getLogger(__name__)
# Kill once the worker has handled this share of the log: mid-stream, with writes in flight.
KILL_AT_SHARE = 0.35
QUIET_SECONDS = 3.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("store", "static"),
    [("memory", False), ("rocksdb", False), ("memory", True)],
    ids=["memory", "rocksdb", "static"],
)
def test_kill_9_mid_stream_then_restart_loses_and_doubles_nothing(
    broker: Broker, registry: Registry, tmp_path: Path, store: str, static: bool
) -> None:
    prefix = f"kill-{store}-{'static-' if static else ''}{time.monotonic_ns()}"
    settings = broker_settings(
        broker, prefix, store=store, group_instance_id="kill-worker" if static else None
    )
    ensure_topics(settings)
    log = fault_log(registry, seed=11)
    worker = WorkerProcess(settings, tmp_path, name=f"kill-{store}").start().wait_ready()
    try:
        publish(settings, log)
        seen = wait_until(
            lambda: (count := handled(worker.scrape())) >= KILL_AT_SHARE * len(log) and count,
            timeout=120, interval=0.05, what=f"the worker handling {KILL_AT_SHARE:.0%} of the log",
        )  # fmt: skip
        worker.stop(signal.SIGKILL)
        committed_at_kill = committed_total(settings)
        assert committed_at_kill < len(log), "the kill landed after the worker committed the whole log"
        restarted = time.monotonic()
        worker.start().wait_ready()
        ready_after = time.monotonic() - restarted
        worker.wait_consumed(len(log))
        caught_up_after = time.monotonic() - restarted
        quiet = handled(worker.wait_quiet(QUIET_SECONDS))  # a double count would show up as more than the log
        samples, problems = settled_mismatches(worker.scrape, log)
        logger.warning(
            "kill -9 store=%s static=%s: killed at %d/%d handled, %d committed; ready %.1f s and caught up "
            "%.1f s after restart, quiet at %d",
            store, static, seen, len(log), committed_at_kill, ready_after, caught_up_after, quiet,
        )  # fmt: skip
        assert handled(samples) == len(log)
        assert problems == []
        assert leaked_pseudonyms(log, worker) == []
    finally:
        worker.stop()
