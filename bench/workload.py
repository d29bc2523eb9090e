"""The benchmark's logs: simulated alliance traffic, made busier, with rejects and duplicates mixed in.

    >>> log = busy_log(registry, events=200_000, seed=8, end=now)
    >>> counts = asyncio.run(produce_log(bootstrap, topics, log))   # {(topic, partition): end offset}

The simulator (streams.simulate) gives realistic traffic, ~95% heartbeats (one per facility and
feed about every 40 s). A log that is mostly heartbeats flatters a pipeline whose heavy path is
the entity state, so the "busy" log keeps 1 heartbeat in `HEARTBEAT_KEEP` and every other event.
About 0.5% of messages are invalid (unknown facility/ward, schema violation: all JSON objects, so
every peer can decode them) and about 0.5% repeat an earlier event_id (true duplicates).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from aiokafka import AIOKafkaProducer

from schemas.events import TYPE_FEED
from schemas.registry import Registry
from streams.simulate import generate

HEARTBEAT_KEEP: Final = 20
INVALID_SHARE: Final = 0.005
DUPLICATE_SHARE: Final = 0.005
# Generated in windows of this length until the log is long enough (the simulator is lazy).
_WINDOW: Final = timedelta(hours=2)
_PRODUCE_BATCH: Final = 2000


@dataclass(frozen=True, slots=True)
class Record:
    feed: str
    key: bytes
    value: bytes


def feed_of(event: dict[str, Any]) -> str:
    return str(event["feed"]) if event["type"] == "heartbeat" else TYPE_FEED[event["type"]]


def to_record(event: dict[str, Any]) -> Record:
    key = event.get("request_id") or event["facility_id"]
    return Record(feed_of(event), str(key).encode(), orjson.dumps(event))


def simulated(
    registry: Registry, *, seed: int, start: datetime, heartbeat_keep: int
) -> Iterator[dict[str, Any]]:
    """Simulated events from `start` on, window after window, keeping 1 heartbeat in `heartbeat_keep`."""
    window_start, window = start, 0
    while True:
        heartbeats = 0
        for event in generate(registry, seed=seed + window, start=window_start, duration=_WINDOW):
            if event["type"] == "heartbeat":
                heartbeats += 1
                if heartbeats % heartbeat_keep:
                    continue
            yield event
        window_start += _WINDOW
        window += 1


def _invalid(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A JSON object that decode() rejects: unknown facility, unknown ward or a schema violation."""
    bad = dict(event, event_id=f"{event['event_id']}-bad")
    choice = rng.randrange(3)
    if choice == 0:
        bad["facility_id"] = "no-such-facility"
    elif choice == 1 and "ward_id" in bad:
        bad["ward_id"] = "no-such-ward"
    else:
        bad.pop("occurred_at", None)
    return bad


def mixed(events: Iterable[dict[str, Any]], *, count: int, seed: int) -> Iterator[Record]:
    """`count` records of `events` with invalid messages and true duplicates sprinkled in."""
    rng = random.Random(seed)
    recent: list[dict[str, Any]] = []
    produced = 0
    for event in events:
        if produced >= count:
            return
        roll = rng.random()
        if roll < INVALID_SHARE:
            yield to_record(_invalid(event, rng))
            produced += 1
        elif roll < INVALID_SHARE + DUPLICATE_SHARE and recent:
            yield to_record(rng.choice(recent))
            produced += 1
        if produced >= count:
            return
        yield to_record(event)
        produced += 1
        recent.append(event)
        if len(recent) > 5000:
            del recent[: len(recent) - 1000]


def busy_log(registry: Registry, *, events: int, seed: int, start: datetime) -> list[Record]:
    """The main log: `events` busy-mix records from simulated traffic beginning at `start`."""
    return list(
        mixed(
            simulated(registry, seed=seed, start=start, heartbeat_keep=HEARTBEAT_KEEP),
            count=events,
            seed=seed,
        )
    )


def realistic_log(registry: Registry, *, events: int, seed: int, start: datetime) -> list[Record]:
    """Simulated traffic as it is (heartbeats ~95%), with the same rejects and duplicates."""
    return list(mixed(simulated(registry, seed=seed, start=start, heartbeat_keep=1), count=events, seed=seed))


def covering_log(registry: Registry, *, seed: int, start: datetime, duration: timedelta) -> list[Record]:
    """Everything the simulator emits over `duration` (every facility: censuses and heartbeats)."""
    return [to_record(event) for event in generate(registry, seed=seed, start=start, duration=duration)]


def log_start(events: int, per_hour: float, now: datetime | None = None) -> datetime:
    """A start time so that a log of `events` at `per_hour` ends about ten minutes before now."""
    now = now or datetime.now(UTC)
    hours = events / per_hour
    return now - timedelta(hours=hours) - timedelta(minutes=10)


async def produce_log(
    bootstrap: str, topics: dict[str, str], records: Iterable[Record]
) -> dict[tuple[str, int], int]:
    """Publish records (feed → topic), keyed; return the end offset of every partition written."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024, acks=1)
    await producer.start()
    ends: dict[tuple[str, int], int] = {}
    try:
        pending: list[asyncio.Future[Any]] = []
        for record in records:
            pending.append(await producer.send(topics[record.feed], record.value, key=record.key))
            if len(pending) >= _PRODUCE_BATCH:
                await _settle(pending, ends)
        await _settle(pending, ends)
    finally:
        await producer.stop()
    return ends


async def _settle(pending: list[asyncio.Future[Any]], ends: dict[tuple[str, int], int]) -> None:
    for metadata in await asyncio.gather(*pending):
        tp = (metadata.topic, metadata.partition)
        ends[tp] = max(ends.get(tp, 0), metadata.offset + 1)
    pending.clear()
