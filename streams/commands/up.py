"""`medalliance up`: the whole service on one machine — what `make demo` runs.

Starts (each only if needed) the embedded broker (Apache Kafka where Java 17 and its jars are
here, else tansu, said in one line; MEDALLIANCE_EMBEDDED_BROKER chooses), the topics, one worker,
the simulated alliance, a Prometheus with the project's rules, and the wall; prints their URLs;
on Ctrl-C or SIGTERM stops everything it started, in reverse order, leaving no process behind.
With an external broker configured (MEDALLIANCE_BROKER_URL) it starts no broker.

The simulator first replays the day so far (`simulate --backfill`, streams.simulate.backfill), a
progress line following it; Prometheus and the wall start once the worker has applied it all, so
their first scrape already sees a lived-in day and no rate() ever counts the replay as traffic.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.table import Table

from dashboards.alerts import PRODUCTION, prometheus_config, write_rule_files
from schemas.metrics import (
    CONSUMER_LAG,
    CONSUMER_LAG_UNKNOWN,
    EVENTS,
    EVENTS_DUPLICATE,
    EVENTS_REJECTED,
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
from streams.commands.simulate import progress_line
from streams.kafka_broker import KafkaBroker
from streams.process import ManagedProcess
from streams.prometheus import PrometheusProcess
from streams.settings import Settings, load_settings
from streams.simulate.backfill import BackfillProgress, read_backfill_status

logger = logging.getLogger(__name__)
console = Console(stderr=True)
_SCRAPE_SECONDS: Final = 5
_STOP_TIMEOUT: Final = 20.0
# Polling with time.sleep, not Event.wait(timeout): under libfaketime a timed lock wait never returns.
_POLL_SECONDS: Final = 0.5
# The worker applies a day's backlog (~13,000 events) in 5-15 s here; far longer means it is stuck,
# and the demo goes on rather than wait forever.
_BACKFILL_PATIENCE: Final = 180.0
_HANDLED: Final = (EVENTS.name, EVENTS_DUPLICATE.name, EVENTS_REJECTED.name)


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


def check_simulator_args(args: argparse.Namespace) -> None:
    """UsageError for simulator arguments that undo the backfill (before anything is started)."""
    if not args.no_backfill and any(
        arg.split("=")[0] in ("--backdate", "--out") for arg in args.simulator_args
    ):
        raise UsageError("--simulator-args --backdate/--out do not go with the backfill: add --no-backfill")


def simulator_args(args: argparse.Namespace, status_path: Path) -> list[str]:
    """`medalliance simulate`'s arguments: the backfill first (unless --no-backfill), then the user's."""
    backfill = [] if args.no_backfill else ["--backfill", "--backfill-status", str(status_path)]
    return ["simulate", *backfill, *args.simulator_args]


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    with_wall = not args.no_wall and _has_command("wall")
    check_ports(settings, with_prometheus=not args.no_prometheus, with_wall=with_wall)
    check_simulator_args(args)
    log_dir = Path(tempfile.mkdtemp(prefix="medalliance-up-"))
    status_path = log_dir / "backfill.json"
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
            started.append(Child("simulator", simulator_args(args, status_path), env, log_dir))
            if not args.no_backfill:
                children = [c for c in started if isinstance(c, Child)]
                if not _await_backfill(stop, children, status_path, _metrics_url(settings)):
                    return 0 if stop.is_set() else 1
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
    write_rule_files(workdir, PRODUCTION, settings.policy)
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
    while not stop.is_set() and _all_alive(children):
        time.sleep(_POLL_SECONDS)


def _all_alive(children: Iterable[Child]) -> bool:
    for child in children:
        if not child.alive():
            console.print(f"[red]{child.name} exited ({child.returncode}); see {child.log_path}[/]")
            return False
    return True


def _metrics_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.web_port}/metrics"


def _await_backfill(
    stop: threading.Event, children: list[Child], status_path: Path, metrics_url: str
) -> bool:
    """Show the replay's progress until the worker has applied it all (or it takes too long);
    False when stopped or a child died meanwhile."""
    started = time.monotonic()
    with progress_line() as progress:
        task = progress.add_task("replaying the day so far", total=None)
        while not stop.is_set() and _all_alive(children):
            status, (handled, drained) = read_backfill_status(status_path), worker_backlog(metrics_url)
            if status is not None:
                applied = min(handled, status.backlog)
                progress.update(
                    task, total=status.backlog, completed=applied, description=_replay_line(status)
                )
                if status.done and drained and handled >= status.backlog:
                    took = time.monotonic() - started
                    console.print(
                        f"replayed {status.backlog:,} events since {_since(status)} in {took:.0f} s"
                    )
                    return True
            if time.monotonic() - started > _BACKFILL_PATIENCE:
                console.print(
                    f"[yellow]the day so far is not applied after {_BACKFILL_PATIENCE:.0f} s; going on[/]"
                )
                return True
            time.sleep(_POLL_SECONDS)
    return False


def _replay_line(status: BackfillProgress) -> str:
    """The progress line's text; its bar is the share the worker has applied."""
    return f"replaying the day since {_since(status)}: {status.published:,}/{status.backlog:,} published"


def _since(status: BackfillProgress) -> str:
    """'00:00', or '15:52 yesterday' for a backlog that began the day before (its local date)."""
    since = datetime.fromisoformat(status.since)
    yesterday = since.date() < datetime.now(since.tzinfo).date()
    return f"{since:%H:%M}{' yesterday' if yesterday else ''}"


def worker_backlog(metrics_url: str) -> tuple[float, bool]:
    """(messages the worker has handled, whether it has applied all it was sent) from /metrics;
    (0, False) while it does not answer."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=3) as response:
            totals = metric_totals(
                response.read().decode(), (*_HANDLED, CONSUMER_LAG.name, CONSUMER_LAG_UNKNOWN.name)
            )
    except OSError:
        return 0.0, False
    handled = sum(totals.get(name, 0.0) for name in _HANDLED)
    # Lag is absent until a partition's first fetch answered (then its lag-unknown reads 1).
    drained = (
        CONSUMER_LAG.name in totals
        and totals[CONSUMER_LAG.name] == 0
        and totals.get(CONSUMER_LAG_UNKNOWN.name, 0) == 0
    )
    return handled, drained


def metric_totals(page: str, names: Iterable[str]) -> dict[str, float]:
    """The sum over every series of each named metric on a text-format page (labels ignored).

    >>> metric_totals('m{a="x y"} 2.0\nm{a="z"} 3.0\n', ["m"])
    {'m': 5.0}
    """
    wanted, totals = set(names), dict[str, float]()
    for line in page.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in wanted:
            totals[name] = totals.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return totals


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("up", help="run broker, worker, simulator, Prometheus and wall (the demo)")
    parser.add_argument("--no-simulator", action="store_true", help="do not start the simulated alliance")
    parser.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus")
    parser.add_argument("--no-wall", action="store_true", help="do not start the wall page")
    parser.add_argument(
        "--no-backfill", action="store_true", help="start the simulator live from now, without the day so far"
    )
    parser.add_argument(
        "--simulator-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="arguments passed to `medalliance simulate`",
    )
    parser.set_defaults(handler=run)
