"""`medalliance simulate`: realistic traffic for every facility, published live or written to a file.

    $ medalliance simulate --speed 60 --duration 1d            # a day in 24 minutes, live
    $ medalliance simulate --out day.ndjson --duration 1d       # a past day to a file
    $ medalliance simulate --scenario stale-feed --backdate 20m --scenario-minutes 15
    $ medalliance simulate --scale 100 --registry-out province.yaml --out province.ndjson --duration 1h
    $ medalliance simulate --backfill                           # the day so far at once, then live

Live mode: see streams.simulate.live for the virtual clock (it never runs ahead of real time).
A scenario begins 5 minutes into the simulated window (so its feeds and wards are first seen
normal) and lasts --scenario-minutes; with --backdate 5m or more it has already begun when
publishing starts, and its events are already that old. With --backfill (what `medalliance up`
runs) the day so far is published first, as fast as the broker takes it (streams.simulate.backfill),
and a scenario begins 5 minutes after going live.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from schemas.registry import Registry, dump_registry, load_registry
from streams.publish import quiet_client_logs
from streams.settings import load_settings
from streams.simulate import SCENARIOS, generate, scale_registry
from streams.simulate.alliance import SCENARIO_LEAD
from streams.simulate.backfill import BackfillStatus, plan_backlog, split_backlog
from streams.simulate.live import LiveWindow, publish_live, utc_now

_DURATION: Final = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DEFAULT_FILE_DURATION: Final = timedelta(days=1)
Event = dict[str, Any]


def parse_duration(text: str) -> timedelta:
    """'90s', '20m', '1h30m', '1d' -> timedelta (UsageError when malformed or zero)."""
    from streams.cli import UsageError

    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise UsageError(f"duration {text!r} is not like 90s, 20m, 1h30m or 1d")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _registry(args: argparse.Namespace) -> Registry:
    from streams.cli import UsageError

    if args.scale < 1:
        raise UsageError(f"--scale must be at least 1, got {args.scale}")
    registry = scale_registry(load_registry(load_settings().registry_path), args.scale)
    if args.registry_out is not None:
        try:
            args.registry_out.write_text(dump_registry(registry), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.registry_out}: {exc.strerror or exc}") from None
    return registry


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from streams.cli import UsageError

    if args.speed <= 0:
        raise UsageError(f"--speed must be positive, got {args.speed}")
    return {
        "seed": args.seed,
        "scenario": args.scenario,
        "scenario_length": timedelta(minutes=args.scenario_minutes),
        "policy": load_settings().policy,  # the worker's: its referral limits shape the acceptances
    }


def write_file(args: argparse.Namespace, registry: Registry) -> int:
    from streams.cli import UsageError

    if args.backfill:
        raise UsageError("--backfill applies to live mode only, not with --out")
    duration = parse_duration(args.duration) if args.duration else DEFAULT_FILE_DURATION
    start = _parse_start(args.start) if args.start else _floor_hour(utc_now() - duration)
    events = generate(registry, start=start, duration=duration, **_options(args))
    count = 0
    try:
        handle = args.out.open("wb")
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    with handle, progress_line() as progress:
        task = progress.add_task("simulating", total=duration.total_seconds())
        for event in events:
            handle.write(orjson.dumps(event) + b"\n")
            count += 1
            if count % 5000 == 0:
                at = datetime.fromisoformat(event["occurred_at"])
                progress.update(task, completed=(at - start).total_seconds(), description=f"{count:,} events")
    print(f"wrote {count} events ({start.isoformat()} + {duration}) to {args.out}")
    return 0


def publish(args: argparse.Namespace, registry: Registry) -> int:
    window, span, events, status = _live_events(args, registry)
    settings = load_settings()
    with progress_line() as progress:
        task = progress.add_task("publishing", total=span.total_seconds() if args.duration else None)

        def shown(event: Event, virtual_now: float) -> None:
            if status is not None:
                status.count_published()
            progress.update(
                task,
                advance=0,
                completed=virtual_now - window.start.timestamp(),
                description=f"{event['occurred_at']} {event['type']:<18}",
            )

        report = asyncio.run(publish_live(settings, events, window, on_event=shown))
    print(f"published {report.published} events in {report.elapsed:.0f} s ({report.rate:,.0f} events/s)")
    return 0


def _live_events(
    args: argparse.Namespace, registry: Registry
) -> tuple[LiveWindow, timedelta, Iterable[Event], BackfillStatus | None]:
    """The live window, its simulated span, its events and (with --backfill) the replay's status."""
    from streams.cli import UsageError

    if args.start:
        raise UsageError(
            "--start applies to --out only: live mode starts in the past so events are never ahead"
        )
    if args.backfill and args.backdate:
        raise UsageError("--backfill replays the day so far: give it or --backdate, not both")
    if args.backfill_status is not None and not args.backfill:
        raise UsageError("--backfill-status goes with --backfill")
    duration = parse_duration(args.duration) if args.duration else None
    now, options = utc_now(), _options(args)
    backdate = parse_duration(args.backdate) if args.backdate else timedelta(0)
    if args.backfill:
        going_live = LiveWindow.plan(now, duration=duration, speed=args.speed, backdate=timedelta(0))
        backdate = plan_backlog(going_live.virtual_start).span
        options["scenario_at"] = backdate + SCENARIO_LEAD  # a live scenario, not a replayed one
        options["live_from"] = going_live.virtual_start
    window = LiveWindow.plan(now, duration=duration, speed=args.speed, backdate=backdate)
    # The backdated part comes on top of the duration, which is what then runs on the clock.
    span = duration + backdate if duration is not None else timedelta(days=3650)  # until stopped
    events: Iterable[Event] = generate(registry, start=window.start, duration=span, **options)
    if not args.backfill:
        return window, span, events, None
    backlog, live = split_backlog(events, until=window.virtual_start)
    print(f"replaying {len(backlog)} events since {window.start.isoformat(timespec='seconds')}", flush=True)
    status = BackfillStatus(args.backfill_status, backlog=len(backlog), since=window.start)
    return window, span, itertools.chain(backlog, live), status


def run(args: argparse.Namespace) -> int:
    quiet_client_logs()
    registry = _registry(args)
    return write_file(args, registry) if args.out is not None else publish(args, registry)


def _parse_start(text: str) -> datetime:
    from streams.cli import UsageError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--start {text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise UsageError(f"--start {text!r} needs an offset, e.g. 2026-11-22T00:00:00+08:00")
    return moment


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def progress_line() -> Progress:
    """The project's one progress line (on stderr, gone once done)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "simulate", help="simulated alliance traffic (live to the broker, or a file)"
    )
    parser.add_argument("--seed", type=int, default=1, help="same seed, same events (default 1)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="time acceleration, e.g. 60 = an hour a minute"
    )
    parser.add_argument("--scale", type=int, default=1, help="copies of the alliance (100 ~ a province)")
    parser.add_argument("--registry-out", type=Path, help="write the (scaled) registry the worker must load")
    parser.add_argument("--out", type=Path, help="write NDJSON instead of publishing")
    parser.add_argument("--duration", help="simulated span: 90s, 20m, 1h, 1d (live default: until stopped)")
    parser.add_argument("--start", help="first occurred_at with --out (ISO 8601 with offset)")
    parser.add_argument("--scenario", choices=SCENARIOS, help="drive one alert condition on purpose")
    parser.add_argument("--scenario-minutes", type=float, default=30.0, help="how long the condition lasts")
    parser.add_argument("--backdate", help="live: start the window this far in the past (e.g. 20m)")
    parser.add_argument(
        "--backfill",
        action="store_true",
        help="live: first publish the day so far (since local midnight, at least 12 h) at once",
    )
    parser.add_argument(
        "--backfill-status", type=Path, help="with --backfill: write its progress (JSON) to this file"
    )
    parser.set_defaults(handler=run)
