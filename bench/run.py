"""`make bench`: medalliance's pipeline against its limit and its peers, on one embedded tansu broker.

    .venv/bin/python bench/run.py --setup                 # the full run (~10-15 min on 2 cores)
    .venv/bin/python bench/run.py --quick                 # a small smoke run (~3 min)
    .venv/bin/python bench/run.py --events 400000 --rss-events 1000000 --scale 100

One broker, one pre-loaded log read by every stage in its own consumer group: raw aiokafka, naive
Faust (with and without producer_max_batch_size=1), Faust's floor, Quix Streams (bench/.venv
only) and a real `medalliance worker`; then latency at a steady rate, /metrics at province scale,
RSS after a long log, restart to correct metrics, and a py-spy profile of the worker. Prints rich
tables and writes bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the project's packages and tests.support

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: E402

from bench import environment, peers, report, stages  # noqa: E402
from schemas.registry import dump_registry, load_registry  # noqa: E402
from streams.broker import EmbeddedBroker, free_port  # noqa: E402
from streams.simulate import scale_registry  # noqa: E402

RESULTS_DIR: Final = ROOT / "bench" / "results"
LOG_SCALE: Final = 10  # the main log's region: 10 copies of the county (1,360 facilities)
# A wide console when printing to a file or pipe, so that the tables stay readable.
console = Console(width=None if sys.stdout.isatty() else 200)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="create/update bench/.venv first (idempotent)")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--events", type=int, help="events in the shared log (default 200000; quick 20000)")
    parser.add_argument(
        "--rss-events", type=int, help="events before reading RSS (default 1000000; quick 60000)"
    )
    parser.add_argument("--scale", type=int, default=100, help="province scale for the scrape (default 100)")
    parser.add_argument("--latency-seconds", type=float, help="steady-rate run length (default 30; quick 10)")
    parser.add_argument("--rate", type=float, default=1000.0, help="steady rate for the latency run")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--rss-timeout", type=float, default=1500.0, help="longest wait for the RSS log (default 1500 s)"
    )
    parser.add_argument(
        "--peer-limit", type=float, help="stop a naive/floor Faust peer after this many seconds (default 150)"
    )
    parser.add_argument("--only", help="comma list of stages to run (default all): " + ",".join(stages.ALL))
    args = parser.parse_args(argv)
    args.events = args.events or (20_000 if args.quick else 200_000)
    args.rss_events = args.rss_events or (60_000 if args.quick else 1_000_000)
    args.latency_seconds = args.latency_seconds or (10.0 if args.quick else 30.0)
    args.province_minutes = 1.0 if args.quick else 2.0
    args.peer_limit = args.peer_limit or (60.0 if args.quick else 150.0)
    args.only = set(args.only.split(",")) if args.only else set(stages.ALL)
    return args


def new_progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def guarded(results: dict[str, Any], name: str, action: Callable[[], dict[str, Any]]) -> None:
    """Run a stage; a failure is recorded (and printed) without stopping the other stages."""
    load = os.getloadavg()[0]
    try:
        results["stages"][name] = {**action(), "load": load}
    except Exception as exc:  # a benchmark reports every stage it can
        logging.getLogger(__name__).debug("stage %s failed", name, exc_info=True)
        first_line = (str(exc).splitlines() or [""])[0][:200]
        results["stages"][name] = {"error": f"{type(exc).__name__}: {first_line}", "load": load}
        console.print(f"[red]stage {name} failed:[/] {results['stages'][name]['error']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    if args.setup:
        with console.status("setting up bench/.venv (quixstreams 3.28, py-spy)"):
            environment.ensure_bench_venv()
    workdir = peers.workdir()
    results: dict[str, Any] = {
        "machine": environment.machine(),
        "args": vars(args) | {"only": sorted(args.only)},
        "workdir": str(workdir),
        "stages": {},
    }
    county = load_registry()
    region = scale_registry(county, LOG_SCALE)
    region_path = workdir / "region.yaml"
    region_path.write_text(dump_registry(region), encoding="utf-8")
    with EmbeddedBroker(free_port(), workdir=workdir) as broker, new_progress() as progress:
        run = stages.Run(args, broker.bootstrap, workdir, progress, region, region_path, county)
        log_start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
        results["log"] = run.load_main_log(log_start)
        try:
            for name in stages.ALL:
                if name in args.only:
                    guarded(results, name, getattr(run, name))
        finally:
            run.close()
        results["profile"] = results["stages"].pop("profile", None)
    results["total_seconds"] = time.monotonic() - started
    report.print_report(console, results)
    path = report.write_json(results, RESULTS_DIR)
    console.print(
        f"results: {path.relative_to(ROOT)}; work files: {workdir}; {results['total_seconds']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
