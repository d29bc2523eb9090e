"""A running wall over a real stack, for the browser tests: tansu, a `medalliance worker`
subprocess fed by the simulator, Prometheus scraping it with the project's TEST rules, and a
`medalliance wall` subprocess.

    >>> stack = WallStack.start(broker, registry, workdir)
    >>> stack.wall_url, stack.prometheus.query("up")
    >>> stack.stop()

One facility's feeds go silent some minutes before "now" so the stale-feed view has something
true to show; the scenario `overdue-request` gives the request board red rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from dashboards.alerts import TEST, prometheus_config, write_rule_files
from schemas.events import TYPE_FEED
from schemas.policy import shipped_policy
from schemas.registry import Registry
from streams.broker import Broker, free_port, wait_for_port
from streams.prometheus import PrometheusProcess
from streams.publish import publish_events
from streams.settings import Settings
from streams.simulate import generate
from streams.worker_process import WorkerProcess, settings_env
from tests.conftest import broker_settings
from tests.support.case_events import stemi_for_primary_pci
from tests.support.referral_events import referral_event
from tests.support.stack import PROJECT_ROOT

POLICY = shipped_policy()

SILENT_FACILITY: Final = "yx-thc-tangkou"  # a town health center: its feeds are expected around the clock
SILENT_FOR: Final = timedelta(minutes=8)
SIMULATED: Final = timedelta(minutes=20)
SEED: Final = 11


CASE_CENTER = "yx-ch-people"
CASE_DOOR_AGO = timedelta(minutes=80)


def simulated_events(registry: Registry, now: datetime) -> list[dict[str, Any]]:
    """Twenty minutes of the alliance up to `now`, with SILENT_FACILITY quiet for the last minutes."""
    events = generate(
        registry, seed=SEED, start=now - SIMULATED, duration=SIMULATED,
        scenario="overdue-request", scenario_at=timedelta(minutes=1),
    )  # fmt: skip
    cutoff = now - SILENT_FOR
    kept = [
        event
        for event in events
        if not (
            event["facility_id"] == SILENT_FACILITY and datetime.fromisoformat(event["occurred_at"]) > cutoff
        )
    ]
    # One STEMI whose door-to-wire clock (90 min) has run 80 min: amber on the five centers' board.
    return kept + stemi_for_primary_pci(CASE_CENTER, now - CASE_DOOR_AGO) + waiting_referrals(now)


def waiting_referrals(now: datetime) -> list[dict[str, Any]]:
    """Two up-referrals to CASE_CENTER's cardiology nobody has answered: one for 30 min (pending), one
    for 130 min (past the 120-min up limit: expired)."""
    fields = {"to_facility_id": CASE_CENTER, "target_ward_id": "cardiology", "department": "心血管内科"}
    return [
        referral_event(
            "referral.requested",
            sender,
            now - timedelta(minutes=minutes),
            f"wall-referral-{minutes}",
            reason="beyond_capability",
            **fields,
        )
        for sender, minutes in (("yx-thc-shaba", 30), ("yx-thc-rudong", 130))
    ]


def last_seen_by_feed(events: Iterable[dict[str, Any]]) -> dict[tuple[str, str], datetime]:
    """Latest occurred_at per (facility, feed), computed from the events themselves."""
    latest: dict[tuple[str, str], datetime] = {}
    for event in events:
        feed = event["feed"] if event["type"] == "heartbeat" else TYPE_FEED[event["type"]]
        key = (event["facility_id"], feed)
        at = datetime.fromisoformat(event["occurred_at"])
        if key not in latest or at > latest[key]:
            latest[key] = at
    return latest


@dataclass
class WallStack:
    settings: Settings
    worker: WorkerProcess
    prometheus: PrometheusProcess
    wall_port: int
    workdir: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    wall: subprocess.Popen[bytes] | None = None

    @property
    def wall_url(self) -> str:
        return f"http://127.0.0.1:{self.wall_port}/"

    @classmethod
    def start(cls, broker: Broker, registry: Registry, workdir: Path) -> WallStack:
        settings = broker_settings(broker, f"t{free_port()}-wall")
        worker = WorkerProcess(settings, workdir).start()
        write_rule_files(workdir / "prometheus", TEST, POLICY)
        config = prometheus_config(TEST, workers=[f"127.0.0.1:{worker.web_port}"], alertmanagers=[])
        prometheus = PrometheusProcess(config, free_port(), workdir=workdir / "prometheus")
        stack = cls(settings, worker, prometheus, free_port(), workdir)
        try:
            stack._feed(registry)
            prometheus.start()
            stack._start_wall()
        except BaseException:
            stack.stop()
            raise
        return stack

    def _feed(self, registry: Registry) -> None:
        self.worker.wait_ready()
        self.events = simulated_events(registry, datetime.now(UTC))
        report = publish_events(self.settings, self.events)
        self.worker.wait_consumed(report.published, timeout=90)

    def _start_wall(self) -> None:
        env = {**os.environ, **settings_env(self.settings), "PYTHONUNBUFFERED": "1"}
        command = [
            sys.executable, "-m", "streams.cli", "wall",
            "--prometheus-url", self.prometheus.url,
            "--worker-url", self.worker.url,
            "--port", str(self.wall_port),
        ]  # fmt: skip
        with (self.workdir / "wall.log").open("wb") as log:
            self.wall = subprocess.Popen(
                command,
                env=env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not wait_for_port("127.0.0.1", self.wall_port, 30):
            raise RuntimeError(f"the wall did not start: {(self.workdir / 'wall.log').read_text()[-2000:]}")

    def wait_for_prometheus(self, timeout: float = 30.0) -> None:
        """Until Prometheus has scraped every partition of every feed (and the rules have run once)."""
        want = 3 * self.settings.partitions
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            owned = self.prometheus.query("sum(medalliance_partitions_owned)")
            if (
                owned
                and float(owned[0]["value"][1]) >= want
                and self.prometheus.query("medalliance:occupancy_ratio:county")
            ):
                return
            time.sleep(0.5)
        raise TimeoutError("Prometheus did not see the whole worker")

    def stop(self) -> None:
        if self.wall is not None and self.wall.poll() is None:
            os.killpg(self.wall.pid, signal.SIGTERM)
            self.wall.wait(timeout=15)
        self.prometheus.stop()
        self.worker.stop()
