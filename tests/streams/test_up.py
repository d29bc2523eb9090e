"""`make demo`'s command, `medalliance up`: starts, serves contract metrics within 60 s, stops
cleanly on SIGTERM with no process left behind — on each embedded broker (Apache Kafka, and
tansu, the fallback of machines without Java), the worker reporting the kind it runs on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from streams.broker import free_port
from streams.worker_process import parse_metrics
from tests.conftest import KAFKA_LIB_DIR
from tests.support.stack import PROJECT_ROOT

pytestmark = pytest.mark.slow
_MARKER = "MEDALLIANCE_APP_ID"


def _processes_with(marker: str) -> list[int]:
    """Pids whose environment carries `marker` (children inherit it: broker, worker, Prometheus...)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _contract_metrics(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return parse_metrics(response.read().decode())
    except OSError:
        return {}


@pytest.mark.parametrize("kind", ["kafka", "tansu"])
def test_up_serves_metrics_within_60_s_and_leaves_no_orphans(tmp_path: Path, kind: str) -> None:
    app_id = f"up-{uuid.uuid4().hex[:8]}"
    web_port = free_port()
    env = {
        **os.environ,
        _MARKER: app_id,
        "MEDALLIANCE_EMBEDDED_BROKER": kind,
        "MEDALLIANCE_KAFKA_LIB_DIR": str(KAFKA_LIB_DIR),
        "MEDALLIANCE_EMBEDDED_BROKER_PORT": str(free_port()),
        "MEDALLIANCE_WEB_PORT": str(web_port),
        "MEDALLIANCE_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
        "MEDALLIANCE_WALL_PORT": str(free_port()),
        "MEDALLIANCE_DATA_DIR": str(tmp_path / "data"),
    }
    started = time.monotonic()
    up = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "up"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        samples: dict = {}
        while time.monotonic() - started < 60 and up.poll() is None:
            samples = _contract_metrics(f"http://127.0.0.1:{web_port}/metrics")
            events = sum(v for (name, _), v in samples.items() if name == "medalliance_events_total")
            if events > 0:
                break
            time.sleep(1)
        first_metric = time.monotonic() - started
        assert up.poll() is None, up.stdout.read().decode() if up.stdout else ""
        assert any(name == "medalliance_events_total" and v > 0 for (name, _), v in samples.items()), (
            f"no accepted event after {first_metric:.0f} s"
        )
        assert any(name == "medalliance_facility_info" for name, _ in samples)
        brokers = {dict(labels)["broker"] for name, labels in samples if name == "medalliance_worker_info"}
        assert brokers == {kind}
        print(f"seconds from `medalliance up` to the first metric: {first_metric:.1f}")
        assert len(_processes_with(f"{_MARKER}={app_id}")) >= 3  # broker, worker, simulator (+ more)
    finally:
        up.send_signal(signal.SIGTERM)
        output = up.communicate(timeout=60)[0].decode()
    assert up.returncode == 0, output
    assert "stopped" in output
    deadline = time.monotonic() + 10
    while _processes_with(f"{_MARKER}={app_id}") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_with(f"{_MARKER}={app_id}") == []
