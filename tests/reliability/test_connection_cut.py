"""Fault 3: the broker connection cut for 30 s by a TCP proxy between every client and Kafka.

Kafka advertises the proxy's address, so the worker, `medalliance publish` and the test's own
clients all go through it. The cut lands while the worker is behind, by construction: the worker
is stopped (SIGSTOP) while the second part is published and resumed once the cut is in place.
During the cut `medalliance publish` must fail with one clear line (or succeed by retrying);
after the restore the same worker process catches up by itself, the file is published again
(dedupe makes that safe), and every contract metric equals the reference.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from schemas.registry import Registry
from streams.broker import ensure_topics, free_port
from streams.kafka_broker import KafkaBroker
from streams.process import wait_until
from streams.worker_process import WorkerProcess, settings_env
from tests.conftest import broker_settings, kafka_broker
from tests.reliability.harness import (
    MEDALLIANCE,
    fault_log,
    handled,
    publish_cli,
    resent_duplicates,
    settled_mismatches,
    write_ndjson,
)
from tests.support.proxy import TcpProxy
from tests.support.stack import PROJECT_ROOT

logger = logging.getLogger(__name__)
CUT_SECONDS: Final = 30.0


@pytest.fixture
def proxied_broker(tmp_path: Path) -> Iterator[tuple[KafkaBroker, TcpProxy]]:
    broker_port = free_port()
    with TcpProxy(broker_port) as proxy:
        broker = kafka_broker(tmp_path / "kafka", port=broker_port, advertised_port=proxy.port)
        with broker:
            yield broker, proxy


@pytest.mark.slow
def test_a_30_second_cut_loses_nothing_and_the_worker_recovers_by_itself(
    proxied_broker: tuple[KafkaBroker, TcpProxy], registry: Registry, tmp_path: Path
) -> None:
    broker, proxy = proxied_broker
    settings = broker_settings(broker, "cut")
    assert settings.bootstrap_servers() == f"127.0.0.1:{proxy.port}"
    ensure_topics(settings)
    env = {**os.environ, **settings_env(settings)}
    log = fault_log(registry, seed=29)
    third = len(log) // 3
    first, second, rest = (
        write_ndjson(tmp_path / f"{name}.ndjson", part)
        for name, part in (("a", log[:third]), ("b", log[third : 2 * third]), ("c", log[2 * third :]))
    )
    worker = WorkerProcess(settings, tmp_path, name="cut").start().wait_ready()
    try:
        assert publish_cli(env, first).returncode == 0
        worker.wait_consumed(third)
        pid = worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            assert publish_cli(env, second).returncode == 0
            proxy.cut()
        finally:
            os.kill(pid, signal.SIGCONT)
        cut_at = time.monotonic()
        handled_at_cut = handled(worker.scrape())
        assert handled_at_cut < 2 * third, "the worker had the second part before the cut"
        # A deadline shorter than the cut: this run gives up, one line (the broker-kill test has
        # publish wait an outage out).
        during = publish_cli({**env, "MEDALLIANCE_PUBLISH_DEADLINE_SECONDS": "10"}, rest)
        assert during.returncode != 0 or f"published {len(log) - 2 * third} events" in during.stdout
        if during.returncode != 0:
            message = during.stderr.strip().splitlines()
            assert len(message) == 1 and "broker" in message[0], during.stderr
        time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)))
        proxy.restore()
        restored_at = time.monotonic()

        assert publish_cli(env, rest).returncode == 0
        # The third part again is a duplicate of nothing (the try during the cut sent nothing) or of
        # all of it (that try succeeded): the reference sees the log as actually published.
        published = log if during.returncode else log + log[2 * third :]
        worker.wait_consumed(len(published), timeout=120)
        recovered = time.monotonic() - restored_at
        samples, problems = settled_mismatches(worker.scrape, published)
        assert worker.pid == pid and worker.alive()  # the same process caught up by itself
        logger.warning(
            "cut %.0f s at %d/%d handled: publish in the cut exited %d (%s); caught up %.1f s later",
            CUT_SECONDS, handled_at_cut, len(log), during.returncode, during.stderr.strip()[:160], recovered,
        )  # fmt: skip
        assert handled(samples) == len(published)
        assert problems == []
    finally:
        worker.stop()


MID_PUBLISH_CUT_SECONDS: Final = 12.0
SENDING_BYTES: Final = 256 * 1024  # the publisher is past its set-up and sending events


@pytest.mark.slow
def test_a_cut_in_the_middle_of_publish_is_retried_or_reported_and_a_rerun_completes(
    proxied_broker: tuple[KafkaBroker, TcpProxy], registry: Registry, tmp_path: Path
) -> None:
    broker, proxy = proxied_broker
    settings = broker_settings(broker, "cut-publish")
    ensure_topics(settings)
    env = {**os.environ, **settings_env(settings)}
    log = fault_log(registry, seed=31, messages=15_000, entity_events=3_000, heartbeat_keep=2)
    path = write_ndjson(tmp_path / "all.ndjson", log)
    baseline = proxy.bytes_to_broker
    publishing = subprocess.Popen(
        [MEDALLIANCE, "publish", str(path)], env=env, cwd=PROJECT_ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    wait_until(
        lambda: proxy.bytes_to_broker - baseline >= SENDING_BYTES or publishing.poll() is not None,
        timeout=60, interval=0.005, what="the publisher sending",
    )  # fmt: skip
    assert publishing.poll() is None, "publish finished before the cut: make the file larger"
    proxy.cut()
    time.sleep(MID_PUBLISH_CUT_SECONDS)
    proxy.restore()
    out, err = publishing.communicate(timeout=180)
    if publishing.returncode != 0:
        assert publishing.returncode == 2 and len(err.strip().splitlines()) == 1, err
    assert publish_cli(env, path).returncode == 0  # the whole file again: dedupe absorbs what got through
    worker = WorkerProcess(settings, tmp_path, name="cut-publish").start().wait_ready()
    try:
        worker.wait_consumed(len(log), timeout=120)
        worker.wait_quiet(3.0)
        samples, problems = settled_mismatches(worker.scrape, log)
        duplicates = resent_duplicates(samples, problems, log)
        logger.warning(
            "cut %.0f s mid-publish: first run exited %d (%s); %d duplicates absorbed",
            MID_PUBLISH_CUT_SECONDS, publishing.returncode, (err.strip() or out.strip())[-160:], duplicates,
        )  # fmt: skip
    finally:
        worker.stop()
