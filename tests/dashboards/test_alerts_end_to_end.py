"""End to end on loopback: a real worker fed by `medalliance simulate --scenario overdue-request`,
a real Prometheus loading the TEST rule variant and scraping it, a real Alertmanager routing to a
webhook receiver here. The page arrives (right name, facility, severity), then its resolution.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.alerts import (
    TEST,
    Receivers,
    alertmanager_yaml,
    prometheus_config,
    write_rule_files,
)
from schemas.metrics import CASE_CLOCKS_DUE_SOON as DUE_SOON
from schemas.metrics import CASE_CLOCKS_OVERDUE as OVERDUE
from schemas.metrics import CASES_OPEN
from schemas.policy import load_policy, shipped_policy
from schemas.registry import Registry
from streams.broker import ensure_topics, free_port
from streams.prometheus import AlertmanagerProcess, PrometheusProcess
from streams.settings import Settings
from streams.simulate.wire import encode
from streams.worker_process import WorkerProcess, settings_env
from tests.support.case_events import stemi_for_primary_pci
from tests.support.stack import PROJECT_ROOT, produce, total

POLICY = shipped_policy()

pytestmark = pytest.mark.slow

TEST_ROOT = PROJECT_ROOT / "dashboards/generated/test"
BACKDATE = timedelta(minutes=25)  # the requests are submitted 15-20 min ago: past the 10 min standard
SCENARIO_LEAD = timedelta(minutes=5)  # the simulator starts a scenario at the first 5-min mark 5 min in
# The scenario ends (requests cancelled) this long after launch. The page comes ~5 s after launch
# (backlog consumed, 1 s scrape and evaluation, `for:` 1 s, group_wait 1 s): 4x that, so it and
# the checks made while the requests are still overdue fit before the cancellation on a busy machine.
REMAINING = timedelta(seconds=20)
# The simulator's live part outlasts the scenario's end by this much, then it exits by itself:
# the cancellations are published and the resolution is what the test waits for meanwhile.
LIVE_AFTER_END = timedelta(seconds=5)
FIRE_WITHIN = REMAINING.total_seconds()  # the page while the requests are overdue, not after
RESOLVE_WITHIN = 45.0  # seconds from the scenario's end to the resolution (group_interval 5 s)
SIMULATOR_EXIT_WITHIN = 60.0  # seconds from the resolution to the simulator's own exit

# The STEMI's site standard, typed here: 45 s door -> wire, due soon at 80% (the policy's
# due_soon_share 0.8) = 36 s, overdue at 45 s. 9 s between the pages holds the 1.5-3 s each takes
# from its point (scrape, evaluation, group_wait) several times over, so the due-soon page is out
# before the breach inhibits it. The door is back-dated so the due-soon point comes D2W_LEAD after
# publishing: the worker takes the case in first, and the clock crosses the point live.
D2W_MINUTES = 0.75
D2W_DUE_SOON = 36.0
D2W_BREACH = 45.0
D2W_LEAD = 5.0


class Hooks(ThreadingHTTPServer):
    """Alertmanager webhook receiver: remembers every (path, alert, received_at)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.received: list[tuple[str, dict[str, Any], float]] = []
        self.lock = threading.Lock()

    def find(self, path: str, status: str, **labels: str) -> float | None:
        with self.lock:
            for got_path, alert, at in self.received:
                if (
                    got_path == path
                    and alert["status"] == status
                    and labels.items() <= alert["labels"].items()
                ):
                    return at
        return None

    def wait(self, timeout: float, path: str, status: str, **labels: str) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (at := self.find(path, status, **labels)) is not None:
                return at
            time.sleep(0.2)
        return None


class _Handler(BaseHTTPRequestHandler):
    server: Hooks

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            for alert in body["alerts"]:
                self.server.received.append((self.path, alert, time.monotonic()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def scenario_minutes(now: datetime) -> float | None:
    """--scenario-minutes so the scenario ends REMAINING after `now`; None near a 5-min mark."""

    def begins(at: datetime) -> float:
        first = (at - BACKDATE + SCENARIO_LEAD).timestamp()
        return math.ceil(first / 300) * 300

    if begins(now) != begins(now + timedelta(seconds=5)):
        return None  # the simulator's own clock might round to the next mark: wait a little
    return ((now + REMAINING).timestamp() - begins(now)) / 60


def launch_scenario(settings: Settings, tmp_path: Path) -> tuple[subprocess.Popen[bytes], float]:
    while (minutes := scenario_minutes(datetime.now(UTC))) is None:
        time.sleep(1)
    live = REMAINING + LIVE_AFTER_END
    command = [
        sys.executable, "-m", "streams.cli", "simulate", "--scenario", "overdue-request",
        "--backdate", f"{BACKDATE.total_seconds():.0f}s", "--duration", f"{live.total_seconds():.0f}s",
        "--scenario-minutes", f"{minutes:.4f}",
    ]  # fmt: skip
    env = {**os.environ, **settings_env(settings)}
    with (tmp_path / "simulate.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    return process, time.monotonic()


def check_grafana_expressions(prometheus: PrometheusProcess, facility: str) -> None:
    path = TEST_ROOT / "grafana/provisioning/alerting/medalliance-alerts.yml"
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"][0]["rules"]
    results = {}
    for rule in rules:
        body = prometheus.get_json("/api/v1/query", query=rule["data"][0]["model"]["expr"])
        assert body["status"] == "success" and body["data"]["resultType"] == "vector", rule["title"]
        results[rule["title"]] = body["data"]["result"]
    assert results["Watchdog"]
    assert any(r["metric"].get("facility") == facility for r in results["RequestOverdue"])


def test_overdue_request_pages_then_resolves(
    settings: Settings, registry: Registry, tmp_path: Path, hooks: Hooks
) -> None:
    facility = next(f.id for f in registry.facilities.values() if f.level == "county_hospital")
    ensure_topics(settings)
    worker = WorkerProcess(settings, tmp_path).start()
    am_port = free_port()
    config = prometheus_config(
        TEST,
        workers=[f"127.0.0.1:{worker.web_port}"],
        alertmanagers=[f"127.0.0.1:{am_port}"],
        rules_dir=str(TEST_ROOT / "prometheus/rules"),
    )
    receivers = Receivers.at(f"http://127.0.0.1:{hooks.server_address[1]}")
    with (
        AlertmanagerProcess(alertmanager_yaml(TEST, POLICY, receivers), am_port, workdir=tmp_path / "am"),
        PrometheusProcess(config, free_port(), workdir=tmp_path / "prom") as prometheus,
    ):
        assert isinstance(prometheus, PrometheusProcess)
        simulator: subprocess.Popen[bytes] | None = None
        try:
            worker.wait_ready()
            simulator, launched = launch_scenario(settings, tmp_path)
            page = {"alertname": "RequestOverdue", "facility": facility, "severity": "page"}
            fired = hooks.wait(FIRE_WITHIN, "/page", "firing", **page)
            assert fired is not None, f"no page within {FIRE_WITHIN} s: {hooks.received}; {worker.log_tail()}"
            print(f"scenario launch -> webhook delivery: {fired - launched:.1f} s")
            assert hooks.find("/ticket", "firing", alertname="RequestOverdue") is None  # routed by severity
            # Three overdue requests: level 4 (docs/escalation.md), once all three are processed.
            level_4 = f'medalliance:escalation_level:facility{{facility="{facility}"}} == 4'
            assert prometheus.wait_for(level_4, timeout=15), prometheus.query(
                f'medalliance:requests_overdue:facility{{facility="{facility}"}}'
            )
            check_grafana_expressions(prometheus, facility)
            ended = launched + REMAINING.total_seconds()
            resolved = hooks.wait(ended - time.monotonic() + RESOLVE_WITHIN, "/page", "resolved", **page)
            assert resolved is not None, f"no resolution: {hooks.received}"
            print(f"scenario end -> resolution delivery: {resolved - ended:.1f} s")
            # Its window ends LIVE_AFTER_END after the scenario's: it has published all and stops by itself.
            code = simulator.wait(timeout=SIMULATOR_EXIT_WITHIN)
            assert code == 0, (tmp_path / "simulate.log").read_text(errors="replace")[-2000:]
        finally:
            if simulator is not None and simulator.poll() is None:
                simulator.kill()
                simulator.wait(timeout=10)
            worker.stop()


def test_a_worker_on_another_policy_than_the_rules_raises_policy_mismatch(
    settings: Settings, tmp_path: Path
) -> None:
    site = tmp_path / "site-policy.yaml"
    policy = yaml.safe_load((PROJECT_ROOT / "schemas/policy.yaml").read_text(encoding="utf-8"))
    policy["requests"]["due_soon_share"] = 0.7  # the site changed the worker's policy, not the rules
    site.write_text(yaml.safe_dump(policy), encoding="utf-8")
    ensure_topics(settings)
    worker = WorkerProcess(settings.model_copy(update={"policy_path": site}), tmp_path).start()
    config = prometheus_config(
        TEST,
        workers=[f"127.0.0.1:{worker.web_port}"],
        alertmanagers=[],
        rules_dir=str(TEST_ROOT / "prometheus/rules"),
    )
    try:
        with PrometheusProcess(config, free_port(), workdir=tmp_path / "prom") as prometheus:
            assert isinstance(prometheus, PrometheusProcess)
            worker.wait_ready()
            exported = prometheus.wait_for("medalliance_policy_info", timeout=30)
            assert [s["metric"]["policy_hash"] for s in exported] != [POLICY.hash]
            rules = prometheus.wait_for("medalliance:policy_info:rules", timeout=30)
            assert [s["metric"]["policy_hash"] for s in rules] == [POLICY.hash]
            firing = prometheus.wait_for(
                'ALERTS{alertname="PolicyMismatch", alertstate="firing"}', timeout=30
            )
            assert firing and firing[0]["metric"]["policy_hash"] == exported[0]["metric"]["policy_hash"]
    finally:
        worker.stop()


def test_a_stemi_pages_at_its_due_soon_point_and_again_at_its_breach(
    settings: Settings, registry: Registry, tmp_path: Path, hooks: Hooks
) -> None:
    # A site policy whose door-to-wire standard is 45 s (D2W_*), where the shipped 90 minutes would
    # put 18 minutes between the pages.
    # The rules are generated from the same file the worker reads, as `medalliance generate` does.
    hospital = next(f.id for f in registry.facilities.values() if f.level == "county_hospital")
    data = yaml.safe_load((PROJECT_ROOT / "schemas/policy.yaml").read_text(encoding="utf-8"))
    for standard in data["centers"]["intervals"]:
        if standard["id"] == "door_to_wire":
            standard["minutes"] = D2W_MINUTES
    site = tmp_path / "site-policy.yaml"
    site.write_text(yaml.safe_dump(data), encoding="utf-8")
    policy = load_policy(site)
    write_rule_files(tmp_path / "prom", TEST, policy)
    ensure_topics(settings)
    worker = WorkerProcess(settings.model_copy(update={"policy_path": site}), tmp_path).start()
    am_port = free_port()
    config = prometheus_config(
        TEST, workers=[f"127.0.0.1:{worker.web_port}"], alertmanagers=[f"127.0.0.1:{am_port}"]
    )
    receivers = Receivers.at(f"http://127.0.0.1:{hooks.server_address[1]}")
    try:
        with (
            AlertmanagerProcess(alertmanager_yaml(TEST, policy, receivers), am_port, workdir=tmp_path / "am"),
            PrometheusProcess(config, free_port(), workdir=tmp_path / "prom"),
        ):
            worker.wait_ready()
            door = datetime.now(UTC) - timedelta(seconds=D2W_DUE_SOON - D2W_LEAD)
            events = stemi_for_primary_pci(hospital, door)
            produce(
                settings, ((settings.topic("requests"), e["case_id"].encode(), encode(e)) for e in events)
            )
            # The worker holds the case open and not yet due soon: its clock has not crossed a point.
            seen = worker.wait_consumed(len(events))
            assert total(seen, CASES_OPEN.name).get(_labels(category="chest_pain", facility=hospital)) == 1
            d2w = _labels(category="chest_pain", interval="door_to_wire", facility=hospital)
            running = {spec.name: total(seen, spec.name).get(d2w, 0) for spec in (DUE_SOON, OVERDUE)}
            assert running == {DUE_SOON.name: 0, OVERDUE.name: 0}, f"not open when first seen: {running}"
            page = {"facility": hospital, "interval": "door_to_wire", "severity": "page"}
            due = hooks.wait(60, "/page", "firing", alertname="CaseClockDueSoon", **page)
            assert due is not None, f"no due-soon page: {hooks.received}; {worker.log_tail()}"
            overdue = hooks.wait(60, "/page", "firing", alertname="CaseClockOverdue", **page)
            assert overdue is not None, f"no breach page: {hooks.received}"
            # Each page comes at its own point of the clock, not before it: due soon first.
            door_mono = time.monotonic() - (datetime.now(UTC) - door).total_seconds()
            assert due - door_mono >= D2W_DUE_SOON and overdue - door_mono >= D2W_BREACH and due < overdue
            print(
                f"door -> due-soon page {due - door_mono:.1f} s, -> breach page {overdue - door_mono:.1f} s"
            )
    finally:
        worker.stop()


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    """A series key of `total` (tests/support/stack.py)."""
    return frozenset(labels.items())
