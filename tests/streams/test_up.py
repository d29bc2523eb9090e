"""`make demo`'s command, `medalliance up`: within its first minute the worker shows a lived-in
day at any hour (open requests, patients in the ED, visits today: the day so far replayed), it
stops cleanly on SIGTERM with no process left behind — on each embedded broker (Apache Kafka, and
tansu, the fallback of machines without Java), the worker reporting the kind it runs on.

Only the worker's /metrics is read, so the test runs under libfaketime too (`make test-at`):
Prometheus, a Go program, keeps the real clock, but nothing here asks it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime
from datetime import time as time_of_day
from pathlib import Path

import pytest

from streams.broker import free_port
from streams.cli import main
from streams.commands.up import metric_totals
from streams.worker_process import SampleKey, parse_metrics
from tests.conftest import KAFKA_LIB_DIR
from tests.support.clock import ALLIANCE_ZONE
from tests.support.reference import shipped_wards
from tests.support.stack import PROJECT_ROOT, total

_MARKER = "MEDALLIANCE_APP_ID"
_FIRST_MINUTE = 60.0
# 136 facilities publish at most 3 feeds: at most 408 beats replayed (each feed's last), and a
# feed beats every 30-60 s live, so the first minute holds well under 2,000 heartbeats. Replayed
# whole, 12 h of the 11 hospitals' and health centers' 33 feeds alone would be over 23,000.
_HEARTBEATS_AT_MOST = 2000
# A replayed day holds events hours old (hourly censuses); live ones are seconds old.
_REPLAYED_DELAY = "3600.0"
# The last heartbeat replayed is under 60 s old at go-live; a feed beats every 30-60 s afterwards.
_FRESH_SECONDS = 120.0
# Going live, a patient arrives in the first county hospital's ED 5 min before (by construction):
# from a few minutes after midnight on, "today" holds an emergency visit whatever the hour.
_TODAY_HAS_ED_FROM = time_of_day(0, 6)


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


def _contract_metrics(url: str) -> dict[SampleKey, float]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return parse_metrics(response.read().decode())
    except OSError:
        return {}


def _sum(samples: dict[SampleKey, float], name: str) -> float:
    return sum(value for (sample_name, _), value in samples.items() if sample_name == name)


def _unmet(samples: dict[SampleKey, float], *, started: datetime) -> list[str]:
    """What a lived-in day still lacks on the worker's page (nothing: alive, and replayed)."""
    unmet = []
    # What a newcomer must see on the wall: an open request and patients in the ED.
    if _sum(samples, "medalliance_requests_open") < 1:
        unmet.append("no open request")
    if _sum(samples, "medalliance_ed_patients") <= 0:
        unmet.append("no patient in the ED")
    # The premise: what is alive was replayed (hours-old events, each feed's last heartbeat only).
    delays = total(samples, "medalliance_event_delay_seconds_bucket", drop=("partition", "instance", "feed"))
    if delays.get(frozenset({("le", "+Inf")}), 0) <= delays.get(frozenset({("le", _REPLAYED_DELAY)}), 0):
        unmet.append("no event older than an hour applied")
    events = total(samples, "medalliance_events_total", drop=("partition", "instance", "feed"))
    heartbeats = events.get(frozenset({("type", "heartbeat")}), 0)
    if not 0 < heartbeats <= _HEARTBEATS_AT_MOST:
        unmet.append(f"{heartbeats:.0f} heartbeats applied")
    today = total(samples, "medalliance_visits_today", drop=("partition", "instance", "facility"))
    if started.time() >= _TODAY_HAS_ED_FROM and today.get(frozenset({("kind", "emergency")}), 0) <= 0:
        unmet.append("no emergency visit today")
    last_seen = total(samples, "medalliance_feed_last_seen_timestamp_seconds")
    now = time.time()
    for facility, wards in shipped_wards().items():
        if wards:  # hospitals and health centers publish their three feeds around the clock
            for feed in ("beds", "visits", "requests"):
                age = now - last_seen.get(frozenset({("facility", facility), ("feed", feed)}), 0)
                if age >= _FRESH_SECONDS:
                    unmet.append(f"{facility} {feed} last seen {age:.0f} s ago")
    return unmet


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["kafka", "tansu"])
def test_up_is_alive_within_its_first_minute_and_leaves_no_orphans(tmp_path: Path, kind: str) -> None:
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
    started, started_at = time.monotonic(), datetime.now(ALLIANCE_ZONE)
    up = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "up"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        samples: dict[SampleKey, float] = {}
        first_metric, unmet = None, ["no answer from the worker"]
        # time.sleep polling: under libfaketime a timed lock wait would never return.
        while time.monotonic() - started < _FIRST_MINUTE and up.poll() is None:
            samples = _contract_metrics(f"http://127.0.0.1:{web_port}/metrics")
            if first_metric is None and _sum(samples, "medalliance_events_total") > 0:
                first_metric = time.monotonic() - started
            unmet = _unmet(samples, started=started_at)
            if not unmet:
                break
            time.sleep(1)
        alive_after = time.monotonic() - started
        assert up.poll() is None, up.stdout.read().decode() if up.stdout else ""
        at = started_at.strftime("%H:%M")
        assert not unmet, f"started at {at}, after {alive_after:.0f} s: {unmet[:5]}"
        assert any(name == "medalliance_facility_info" for name, _ in samples)
        brokers = {dict(labels)["broker"] for name, labels in samples if name == "medalliance_worker_info"}
        assert brokers == {kind}
        print(
            f"at {at} Asia/Shanghai on {kind}: first metric after {first_metric or 0:.1f} s, alive after "
            f"{alive_after:.1f} s: {_sum(samples, 'medalliance_requests_open'):.0f} open requests, "
            f"{_sum(samples, 'medalliance_ed_patients'):.0f} ED patients, "
            f"{_sum(samples, 'medalliance_visits_today'):.0f} visits today"
        )
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


def test_metric_totals_add_up_every_series_of_a_name() -> None:
    page = (
        "# HELP medalliance_consumer_lag_messages Messages ...\n"
        "# TYPE medalliance_consumer_lag_messages gauge\n"
        'medalliance_consumer_lag_messages{feed="beds",partition="0"} 3.0\n'
        'medalliance_consumer_lag_messages{feed="visits",partition="1"} 4.0\n'
        'medalliance_facility_info{facility="yx-ch-people",name="a b {c}"} 1.0\n'
        "medalliance_consumer_lag_messages_total 100.0\n"
    )
    assert metric_totals(page, ["medalliance_consumer_lag_messages", "medalliance_facility_info"]) == {
        "medalliance_consumer_lag_messages": 7.0,
        "medalliance_facility_info": 1.0,
    }
    assert metric_totals(page, ["medalliance_ed_patients"]) == {}


@pytest.mark.parametrize(
    "simulator_args", [["--backdate", "20m"], ["--backdate=20m"], ["--out", "day.ndjson"]]
)
def test_up_refuses_simulator_args_that_undo_the_backfill_in_one_line(
    simulator_args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ports no test uses, so the port check passes before the arguments are read.
    for name in ("WEB_PORT", "EMBEDDED_BROKER_PORT", "WALL_PORT"):
        monkeypatch.setenv(f"MEDALLIANCE_{name}", str(free_port()))
    monkeypatch.setenv("MEDALLIANCE_PROMETHEUS_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["up", "--simulator-args", *simulator_args]) == 2
    error = capsys.readouterr().err
    assert error.startswith(
        "medalliance: error: --simulator-args --backdate/--out do not go with the backfill"
    )
    assert error.endswith("add --no-backfill\n") and error.count("\n") == 1
