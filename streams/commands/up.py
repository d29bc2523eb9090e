"""`medalliance up`: the whole service on one machine — what `make demo` runs.

Starts (each only if needed) the embedded broker (Apache Kafka where Java 17 and its jars are
here, else tansu, said in one line; MEDALLIANCE_EMBEDDED_BROKER chooses), the topics, one worker,
the simulated alliance, a Prometheus with the project's rules, and the wall; prints their URLs;
on Ctrl-C or SIGTERM stops everything it started, in reverse order, leaving no process behind.
With an external broker configured (MEDALLIANCE_BROKER_URL) it starts no broker.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.table import Table

from dashboards.alerts import (
    ALERTS_FILE,
    PRODUCTION,
    RECORDING_FILE,
    RULES_DIR,
    alerting_rules_yaml,
    prometheus_config,
    recording_rules_yaml,
)
from streams.broker import (
    EmbeddedBroker,
    embedded_kind,
    ensure_topics,
    port_is_free,
    start_embedded,
    wait_for_port,
)
from streams.cli import UsageError
from streams.kafka_broker import KafkaBroker
from streams.process import ManagedProcess
from streams.prometheus import PrometheusProcess
from streams.settings import Settings, load_settings

logger = logging.getLogger(__name__)
console = Console(stderr=True)
_SCRAPE_SECONDS: Final = 5
_STOP_TIMEOUT: Final = 20.0


class Child(ManagedProcess):
    """A `medalliance <command>` child process in its own process group."""

    stop_timeout = _STOP_TIMEOUT

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        super().__init__(workdir=log_dir)
        self.name = name
        self.args = args
        self.env = env
        self.start()

    def command(self) -> list[str]:
        return [sys.executable, "-m", "streams.cli", *self.args]

    def environment(self) -> dict[str, str]:
        return self.env

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None


def _port_of(url: str) -> int:
    return urllib.parse.urlsplit(url).port or 80


def check_ports(settings: Settings, *, with_prometheus: bool, with_wall: bool) -> None:
    wanted = [("worker web", settings.web_host, settings.web_port)]
    if settings.embedded:
        wanted.append(("embedded broker", "127.0.0.1", settings.embedded_broker_port))
    if with_prometheus:
        wanted.append(("prometheus", "127.0.0.1", _port_of(settings.prometheus_url)))
    if with_wall:
        wanted.append(("wall", settings.wall_host, settings.wall_port))
    for what, host, port in wanted:
        if not port_is_free(host, port):
            raise UsageError(
                f"port {port} for the {what} is already in use: stop what listens there or set its port"
            )


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    with_wall = not args.no_wall and _has_command("wall")
    check_ports(settings, with_prometheus=not args.no_prometheus, with_wall=with_wall)
    log_dir = Path(tempfile.mkdtemp(prefix="medalliance-up-"))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    started: list[ManagedProcess] = []
    try:
        env = {**os.environ, "MEDALLIANCE_WORKER_URLS": f'["http://127.0.0.1:{settings.web_port}"]'}
        if settings.embedded:
            kind, why_not_kafka = embedded_kind(settings)
            if why_not_kafka:
                console.print(f"[yellow]embedded broker: tansu, not Apache Kafka, because {why_not_kafka}[/]")
            started.append(start_embedded(settings, kind, workdir=log_dir / "broker"))
            # The children apply the workarounds of the broker that actually runs.
            env["MEDALLIANCE_EMBEDDED_BROKER"] = kind
        ensure_topics(settings)
        worker = Child("worker", ["worker"], env, log_dir)
        started.append(worker)
        if not args.no_simulator:
            started.append(Child("simulator", ["simulate", *args.simulator_args], env, log_dir))
        if not args.no_prometheus:
            started.append(_start_prometheus(settings, log_dir))
        if with_wall:
            started.append(Child("wall", ["wall"], env, log_dir))
        _announce(settings, started, log_dir, worker)
        _supervise(stop, [c for c in started if isinstance(c, Child)])
    finally:
        for part in reversed(started):
            part.stop()
        console.print("[bold]stopped[/] everything `medalliance up` started")
    return 0


def _has_command(name: str) -> bool:
    return (Path(__file__).parent / f"{name}.py").exists()


def _start_prometheus(settings: Settings, log_dir: Path) -> PrometheusProcess:
    # Rules generated for the policy this worker runs, so the demo's pages, dashboards and wall agree.
    workdir = log_dir / "prometheus"
    rules = workdir / RULES_DIR
    rules.mkdir(parents=True)
    (rules / RECORDING_FILE).write_text(recording_rules_yaml(PRODUCTION, settings.policy), encoding="utf-8")
    (rules / ALERTS_FILE).write_text(alerting_rules_yaml(PRODUCTION, settings.policy), encoding="utf-8")
    config = prometheus_config(
        PRODUCTION,
        workers=[f"127.0.0.1:{settings.web_port}"],
        alertmanagers=[],
        scrape_interval_seconds=_SCRAPE_SECONDS,
    )
    return PrometheusProcess(config, _port_of(settings.prometheus_url), workdir=workdir).start()


def _announce(settings: Settings, started: Sequence[object], log_dir: Path, worker: Child) -> None:
    table = Table(title="medalliance up", show_header=True)
    table.add_column("what")
    table.add_column("where")
    table.add_column("pid")
    for part in started:
        if isinstance(part, KafkaBroker):
            table.add_row("broker (Apache Kafka, KRaft)", part.bootstrap, _pid(part))
        if isinstance(part, EmbeddedBroker):
            table.add_row("broker (tansu, in memory)", part.bootstrap, _pid(part))
    table.add_row("worker metrics", f"http://127.0.0.1:{settings.web_port}/metrics", _pid(worker))
    table.add_row("open requests API", f"http://127.0.0.1:{settings.web_port}/api/requests/open", "")
    for part in started:
        if isinstance(part, PrometheusProcess):
            table.add_row("prometheus", part.url, _pid(part))
        if isinstance(part, Child) and part.name in ("simulator", "wall"):
            where = (
                f"http://{settings.wall_host}:{settings.wall_port}/" if part.name == "wall" else "publishing"
            )
            table.add_row(part.name, where, _pid(part))
    table.add_row("logs", str(log_dir), "")
    Console().print(table)
    if wait_for_port("127.0.0.1", settings.web_port, 60):
        Console().print("Ctrl-C stops everything.")


def _pid(part: ManagedProcess) -> str:
    return str(part.pid or "")


def _supervise(stop: threading.Event, children: list[Child]) -> None:
    """Wait for Ctrl-C/SIGTERM; if a child dies, say so and stop (never run half a service)."""
    while not stop.wait(0.5):
        for child in children:
            if not child.alive():
                console.print(f"[red]{child.name} exited ({child.returncode}); see {child.log_path}[/]")
                return


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("up", help="run broker, worker, simulator, Prometheus and wall (the demo)")
    parser.add_argument("--no-simulator", action="store_true", help="do not start the simulated alliance")
    parser.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus")
    parser.add_argument("--no-wall", action="store_true", help="do not start the wall page")
    parser.add_argument(
        "--simulator-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="arguments passed to `medalliance simulate`",
    )
    parser.set_defaults(handler=run)
