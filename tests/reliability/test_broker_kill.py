"""Fault 6, what only a real broker allows: Apache Kafka itself killed with -9 in the middle of a
stream and restarted on its log dir 10 s later.

The log goes in thirds. The worker handles the first; it is behind when the broker dies, by
construction (stopped with SIGSTOP while the second third is published, resumed once the broker
is dead). `medalliance publish` of the last third is started during the outage: it waits the
broker out (retrying with backoff up to its deadline) and completes. The same worker process
recovers by itself, and every contract metric equals the reference; what the publisher or the
worker's producer sent twice is counted as a duplicate only.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Final

import pytest

from schemas.registry import Registry
from streams.broker import ensure_topics
from streams.kafka_broker import KafkaBroker
from streams.worker_process import WorkerProcess, settings_env
from tests.conftest import broker_settings
from tests.reliability.harness import (
    MEDALLIANCE,
    fault_log,
    handled,
    publish_cli,
    resent_duplicates,
    settled_mismatches,
    write_ndjson,
)
from tests.support.stack import PROJECT_ROOT

logger = logging.getLogger(__name__)
OUTAGE_SECONDS: Final = 10.0


@pytest.mark.slow
def test_kafka_killed_and_restarted_on_its_log_dir_loses_and_doubles_nothing(
    fresh_broker: KafkaBroker, registry: Registry, tmp_path: Path
) -> None:
    broker = fresh_broker
    settings = broker_settings(broker, "broker-kill")
    ensure_topics(settings)
    env = {**os.environ, **settings_env(settings)}
    log = fault_log(registry, seed=37)
    third = len(log) // 3
    first, second, last = (
        write_ndjson(tmp_path / f"{name}.ndjson", part)
        for name, part in (("a", log[:third]), ("b", log[third : 2 * third]), ("c", log[2 * third :]))
    )
    worker = WorkerProcess(settings, tmp_path, name="broker-kill").start().wait_ready()
    pid = worker.pid
    assert pid is not None
    try:
        assert publish_cli(env, first).returncode == 0
        worker.wait_consumed(third)
        os.kill(pid, signal.SIGSTOP)
        try:
            assert publish_cli(env, second).returncode == 0
            broker.stop(signal.SIGKILL)
        finally:
            os.kill(pid, signal.SIGCONT)
        killed_at = time.monotonic()
        handled_at_kill = handled(worker.scrape())
        assert third <= handled_at_kill < 2 * third, "the worker was not mid-stream when the broker died"
        publishing = subprocess.Popen(
            [MEDALLIANCE, "publish", str(last)], env=env, cwd=PROJECT_ROOT, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - killed_at)))  # the outage itself
        assert publishing.poll() is None, "publish gave up during the outage"
        restarting = time.monotonic()
        broker.start()
        restarted_at = time.monotonic()
        out, err = publishing.communicate(timeout=180)
        assert publishing.returncode == 0, err
        worker.wait_consumed(len(log), timeout=180)
        caught_up = time.monotonic() - restarted_at
        worker.wait_quiet(3.0)
        samples, problems = settled_mismatches(worker.scrape, log)
        duplicates = resent_duplicates(samples, problems, log)
        logger.warning(
            "broker kill -9 at %d/%d handled; restarted after %.0f s, ready %.1f s later; publish during "
            "the outage: %s; the worker caught up %.1f s after the restart; %d duplicates absorbed",
            handled_at_kill, len(log), restarting - killed_at, restarted_at - restarting, out.strip()[-100:],
            caught_up, duplicates,
        )  # fmt: skip
        assert worker.pid == pid and worker.alive()  # the same process recovered by itself
    finally:
        worker.stop()
