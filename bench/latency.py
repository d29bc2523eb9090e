"""Produce → visible-at-/metrics latency at a steady rate.

    >>> result = asyncio.run(measure(worker, topics, background, facilities, rate=1000, seconds=30))

Design: among a steady stream of background events (simulated, occurred_at in the past), every
`PROBE_EVERY` seconds one message is a *probe*: a heartbeat on the beds feed from one of
`PROBES` facilities in turn, with occurred_at = the wall clock when it is sent (millisecond
precision). medalliance_feed_last_seen_timestamp_seconds{facility,feed="beds"} is the max
occurred_at accepted for that facility, and the background's are all older, so the gauge
reaches a probe's stamp exactly when that probe is exported. A poller scrapes /metrics every
SCRAPE_PERIOD seconds in a thread (back to back, a region's scrapes would keep the worker's event
loop busy most of the time, measuring the poller more than the pipeline); a probe's latency is the
end of the first scrape showing it minus its stamp (an upper bound: the true moment lies inside
that scrape or the gap before it; the lower bound, from the scrape's start, is reported too).
Each facility is reused only after PROBES × PROBE_EVERY seconds, so every probe is observed on
its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from aiokafka import AIOKafkaProducer

from bench.workload import Record
from streams.worker_process import WorkerProcess

PROBES: Final = 20
PROBE_EVERY: Final = 0.1
SCRAPE_PERIOD: Final = 0.25
_TICK: Final = 0.01
_GAUGE: Final = b"medalliance_feed_last_seen_timestamp_seconds{"


@dataclass
class Observations:
    """Per probe facility, (scrape start, scrape end, gauge value) of every scrape."""

    scrapes: list[tuple[float, float, dict[str, float]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def probe_gauges(body: bytes, facilities: set[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in body.split(b"\n"):
        if not line.startswith(_GAUGE) or b'feed="beds"' not in line:
            continue
        labels, _, value = line.rpartition(b" ")
        start = labels.find(b'facility="') + len(b'facility="')
        facility = labels[start : labels.find(b'"', start)].decode()
        if facility in facilities:
            values[facility] = max(values.get(facility, 0.0), float(value))
    return values


def poll(worker: WorkerProcess, facilities: set[str], into: Observations) -> None:
    while not into.stop.is_set():
        started = time.time()
        try:
            body = worker.get("/metrics", timeout=10)
        except OSError:
            time.sleep(0.05)
            continue
        into.scrapes.append((started, time.time(), probe_gauges(body, facilities)))
        time.sleep(max(0.0, SCRAPE_PERIOD - (time.time() - started)))


def probe_record(facility: str, stamp: float) -> tuple[Record, float]:
    # Millisecond stamps survive the float round trip through the gauge exactly enough (1e-3).
    stamp = round(stamp, 3)
    moment = datetime.fromtimestamp(stamp, UTC).isoformat(timespec="milliseconds")
    event = {
        "event_id": f"probe-{facility}-{stamp:.3f}",
        "type": "heartbeat",
        "schema_version": 1,
        "facility_id": facility,
        "occurred_at": moment,
        "feed": "beds",
    }
    return Record("beds", facility.encode(), orjson.dumps(event)), stamp


async def paced(
    bootstrap: str,
    topics: dict[str, str],
    background: Iterator[Record],
    facilities: Sequence[str],
    *,
    rate: float,
    seconds: float,
) -> list[tuple[str, float]]:
    """Send `rate` messages/s for `seconds`, a probe every PROBE_EVERY s; return (facility, stamp)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    await producer.start()
    probes: list[tuple[str, float]] = []
    per_tick = rate * _TICK
    sent, next_probe = 0.0, 0.0
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * rate) - int(sent)
            for _ in range(max(0, min(due, int(per_tick * 10)))):
                record = next(background)
                if elapsed >= next_probe:
                    facility = facilities[len(probes) % len(facilities)]
                    record, stamp = probe_record(facility, time.time())
                    probes.append((facility, stamp))
                    next_probe += PROBE_EVERY
                await producer.send(topics[record.feed], record.value, key=record.key)
                sent += 1
            await asyncio.sleep(_TICK)
        await producer.flush()
    finally:
        await producer.stop()
    return probes


def latencies(
    probes: list[tuple[str, float]], observed: Observations
) -> tuple[list[float], list[float], int]:
    """(upper bounds, lower bounds, probes never seen)."""
    upper, lower, missing = [], [], 0
    for facility, stamp in probes:
        seen = next(
            (
                (start, end)
                for start, end, gauges in observed.scrapes
                if gauges.get(facility, 0.0) >= stamp - 1e-3
            ),
            None,
        )
        if seen is None:
            missing += 1
            continue
        upper.append(max(0.0, seen[1] - stamp))
        lower.append(max(0.0, seen[0] - stamp))
    return upper, lower, missing


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    worker: WorkerProcess,
    bootstrap: str,
    topics: dict[str, str],
    background: Iterator[Record],
    facilities: Sequence[str],
    *,
    rate: float,
    seconds: float,
    settle: float = 5.0,
) -> dict[str, Any]:
    observed = Observations()
    poller = threading.Thread(target=poll, args=(worker, set(facilities), observed), daemon=True)
    poller.start()
    try:
        probes = await paced(bootstrap, topics, background, facilities, rate=rate, seconds=seconds)
        await asyncio.sleep(settle)  # let the last probes show up
    finally:
        observed.stop.set()
        poller.join(timeout=30)
    upper, lower, missing = latencies(probes, observed)
    third = max(1, len(upper) // 3)
    gaps = [b[0] - a[0] for a, b in zip(observed.scrapes, observed.scrapes[1:], strict=False)]
    return {
        "rate": rate,
        "seconds": seconds,
        "probes": len(probes),
        "missing": missing,
        "p50": percentile(upper, 0.5),
        "p99": percentile(upper, 0.99),
        "max": max(upper, default=float("nan")),
        "p50_lower": percentile(lower, 0.5),
        "p99_lower": percentile(lower, 0.99),
        # Rising from the first third of the probes seen to the last: the worker falls behind.
        "p50_first_third": percentile(upper[:third], 0.5),
        "p50_last_third": percentile(upper[-third:], 0.5),
        "scrape_period": sum(gaps) / len(gaps) if gaps else float("nan"),
    }
