"""Faust peers of the benchmark, run as a child process (the project's own virtualenv).

    python bench/faust_peer.py --mode naive --bootstrap 127.0.0.1:PORT --topics a,b,c \
        --group g1 --expected 200000 --out result.json [--batch1]

- naive: one agent, faust.Record values, `table[key] += 1` per event (one changelog write each);
  `--batch1` sets producer_max_batch_size=1 as medalliance does on tansu (BROKER.md quirk 1).
- floor: one agent over raw bytes with `stream.take(2000, within=0.2)`, orjson.loads, no state.

It times from the first event seen to the last one handled (for naive: plus flushing the
changelog producer), writes {"events", "seconds", ...} as JSON to --out and exits at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from typing import Any

import faust
import orjson

SESSION_TIMEOUT = 10.0  # as medalliance's default: tansu group joins take half the session timeout


class Event(faust.Record, serializer="json"):
    """The envelope fields; every other field of the event is kept as an extra attribute."""

    type: str | None = None
    facility_id: str | None = None
    event_id: str | None = None
    occurred_at: str | None = None


def make_app(args: argparse.Namespace) -> faust.App:
    options: dict[str, Any] = {
        "broker": f"kafka://{args.bootstrap}",
        "store": "memory://",
        "datadir": tempfile.mkdtemp(prefix="bench-faust-"),
        "topic_partitions": args.partitions,
        "broker_session_timeout": SESSION_TIMEOUT,
        "broker_heartbeat_interval": SESSION_TIMEOUT / 4,
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": False,
        "autodiscover": False,
    }
    if args.batch1:
        options["producer_max_batch_size"] = 1
    return faust.App(args.group, **options)


class Clock:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.count = 0
        self.first: float | None = None
        self.cpu = 0.0

    def seen(self, n: int) -> None:
        if self.first is None:
            self.first, self.cpu = time.perf_counter(), time.process_time()
        self.count += n

    @property
    def done(self) -> bool:
        """All expected events, or the time limit (then the rate is over the prefix handled)."""
        elapsed = time.perf_counter() - (self.first or time.perf_counter())
        return self.count >= self.args.expected or elapsed >= self.args.limit_seconds

    def finish(self, extra: dict[str, Any] | None = None) -> None:
        seconds = time.perf_counter() - (self.first or time.perf_counter())
        cpu_seconds = time.process_time() - self.cpu
        result = {"events": self.count, "seconds": seconds, "cpu_seconds": cpu_seconds, **(extra or {})}
        if self.count < self.args.expected:
            result["note"] = f"stopped at the {self.args.limit_seconds:.0f} s limit: rate over this prefix"
        with open(self.args.out, "w") as out:
            json.dump(result, out)
        os._exit(0)  # a benchmark child: no graceful Faust shutdown to wait for


def register(app: faust.App, args: argparse.Namespace) -> None:
    clock = Clock(args)
    names = args.topics.split(",")
    if args.mode == "floor":
        source = app.topic(*names, key_serializer="raw", value_serializer="raw")

        @app.agent(source)
        async def floor(stream: faust.StreamT[bytes]) -> None:
            async for values in stream.take(2000, within=0.2):
                for value in values:
                    try:  # noqa: SIM105 - a plain try is the cheapest guard in this hot loop
                        orjson.loads(value)
                    except orjson.JSONDecodeError:
                        pass
                clock.seen(len(values))
                if clock.done:
                    clock.finish()

        return
    counts = app.Table("bench-counts", default=int, partitions=args.partitions)
    source = app.topic(*names, key_type=str, value_type=Event)

    @app.agent(source)
    async def naive(stream: faust.StreamT[Event]) -> None:
        async for event in stream.events():
            counts[event.key] += 1
            clock.seen(1)
            if clock.done:
                await app.producer.flush()
                clock.finish({"keys": len(counts)})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("naive", "floor"), required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topics", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--expected", type=int, required=True)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch1", action="store_true")
    parser.add_argument("--limit-seconds", type=float, default=float("inf"))
    args = parser.parse_args()
    app = make_app(args)
    register(app, args)
    logging.getLogger("faust").setLevel(logging.ERROR)
    worker = faust.Worker(app, loglevel="error", quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
