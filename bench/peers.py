"""The comparison stages: raw aiokafka, the Faust and Quix peers (child processes), and the pure
domain code in-process (no Kafka, no Faust) under an optional cProfile.

    >>> raw = asyncio.run(raw_consumer(bootstrap, topics, group="bench-raw", expected=200_000))
    >>> naive = run_child([python, "bench/faust_peer.py", "--mode", "naive", ...], timeout=600)
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import pstats
import subprocess
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import orjson
from aiokafka import AIOKafkaConsumer

from bench.workload import Record
from schemas.policy import shipped_policy
from schemas.registry import Registry
from streams.domain.dedupe import Markers
from streams.domain.pipeline import Message, Rules, process_batch
from streams.domain.store import DictStore

logger = logging.getLogger(__name__)
_FETCH_RECORDS: Final = 10_000
BATCH: Final = 2000  # as MEDALLIANCE_BATCH_SIZE's default


class StageError(RuntimeError):
    """A stage failed or overran its time limit; the message is one line."""


def _rules(feed: str, registry: Registry) -> Rules:
    """The pipeline's rules as the worker builds them, for the shipped policy."""
    zone = ZoneInfo("Asia/Shanghai")
    policy = shipped_policy()
    return Rules(
        feed=feed,  # type: ignore[arg-type]
        registry=registry,
        retention=timedelta(days=7),
        zone=zone,
        centers=policy.centers,
        referrals=policy.referrals,
    )


async def raw_consumer(
    bootstrap: str, topics: Sequence[str], *, group: str, expected: int, timeout: float
) -> dict[str, Any]:
    """An aiokafka consumer reading and orjson-decoding the whole log."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    count, first, cpu = 0, 0.0, 0.0
    deadline = time.monotonic() + timeout
    try:
        while count < expected:
            if time.monotonic() > deadline:
                raise StageError(f"raw consumer read {count} of {expected} in {timeout:.0f} s")
            batches = await consumer.getmany(timeout_ms=500, max_records=_FETCH_RECORDS)
            for records in batches.values():
                if not first:
                    first, cpu = time.perf_counter(), time.process_time()
                for record in records:
                    orjson.loads(record.value)
                count += len(records)
        seconds, cpu_seconds = time.perf_counter() - first, time.process_time() - cpu
    finally:
        await consumer.stop()
    return {"events": count, "seconds": seconds, "cpu_seconds": cpu_seconds}


def run_child(command: list[str], *, out: Path, timeout: float, log: Path) -> dict[str, Any]:
    """Run a peer child process; return the JSON it wrote to `out`."""
    with log.open("wb") as sink:
        try:
            subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise StageError(f"{Path(command[1]).name} overran {timeout:.0f} s; see {log}") from None
    if not out.exists():
        tail = log.read_text(errors="replace").splitlines()[-5:]
        raise StageError(f"{Path(command[1]).name} wrote no result; log tail: {' | '.join(tail)}")
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def child_paths(workdir: Path, name: str) -> tuple[Path, Path]:
    return workdir / f"{name}.json", workdir / f"{name}.log"


def domain_batches(
    records: Sequence[Record], partitions: int, batch: int = BATCH
) -> dict[str, list[tuple[int, list[Message]]]]:
    """The log as the worker would see it: per feed, batches of `batch` split by partition, with offsets."""
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    per_feed: dict[str, list[tuple[int, bytes, bytes]]] = defaultdict(list)
    for record in records:
        partition = zlib.crc32(record.key) % partitions
        per_feed[record.feed].append((partition, record.key, record.value))
    batches: dict[str, list[tuple[int, list[Message]]]] = defaultdict(list)
    for feed, items in per_feed.items():
        for start in range(0, len(items), batch):
            grouped: dict[int, list[Message]] = defaultdict(list)
            for partition, key, value in items[start : start + batch]:
                grouped[partition].append(Message(offsets[(feed, partition)], value, key))
                offsets[(feed, partition)] += 1
            batches[feed].extend(grouped.items())
    return batches


class CountingStore(DictStore):
    """A dict store that counts writes per key kind (t totals, d dedupe, b beds, e ED, r requests):
    each write is one changelog record in the worker."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.writes: dict[str, int] = defaultdict(int)

    def set(self, key: str, value: Any) -> None:
        self.writes[key.split("|", 1)[0]] += 1
        self.data[key] = value


def value_sizes(store: dict[str, Any]) -> dict[str, int]:
    """Mean JSON size of the final values per key kind (what one changelog record carries)."""
    sizes: dict[str, list[int]] = defaultdict(list)
    for key, value in store.items():
        sizes[key.split("|", 1)[0]].append(len(orjson.dumps(value)))
    return {kind: sum(values) // len(values) for kind, values in sizes.items()}


def domain_run(
    records: Sequence[Record], registry: Registry, *, partitions: int, profile_to: Path | None = None
) -> dict[str, Any]:
    """streams.domain.pipeline.process_batch over the log with a dict store: the domain's own cost."""
    batches = domain_batches(records, partitions)
    now = datetime.now(UTC)
    store: dict[str, Any] = {}
    counting = CountingStore(store)
    profiler = cProfile.Profile() if profile_to else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for feed, items in batches.items():
        rules = _rules(feed, registry)
        markers: dict[int, Markers] = {}
        for partition, messages in items:
            index = markers.setdefault(partition, Markers(partition))
            process_batch(counting, rules, partition=partition, messages=messages, now=now, markers=index)
    if profiler:
        profiler.disable()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    result: dict[str, Any] = {
        "events": len(records),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "keys": len(store),
        "writes": counting.writes,
        "writes_per_event": round(sum(counting.writes.values()) / max(1, len(records)), 4),
        "mean_value_bytes": value_sizes(store),
    }
    if profiler and profile_to:
        profiler.dump_stats(str(profile_to))
        result["profile_top"] = profile_summary(profiler)
    return result


class BytesStore(DictStore):
    """A dict store that adds up the JSON size of every write (one changelog record each)."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.records = 0
        self.bytes = 0

    def set(self, key: str, value: Any) -> None:
        self.records += 1
        self.bytes += len(orjson.dumps(value))
        self.data[key] = value


def write_amplification(
    records: Sequence[Record], registry: Registry, *, partitions: int, batches: Sequence[int]
) -> list[dict[str, float]]:
    """Changelog records and bytes per event if the worker's batches held `batch` events per feed."""
    rows = []
    now = datetime.now(UTC)
    for batch in batches:
        store = BytesStore({})
        for feed, items in domain_batches(records, partitions, batch).items():
            rules = _rules(feed, registry)
            markers: dict[int, Markers] = {}
            for partition, messages in items:
                index = markers.setdefault(partition, Markers(partition))
                process_batch(store, rules, partition=partition, messages=messages, now=now, markers=index)
        events = max(1, len(records))
        rows.append(
            {
                "batch": batch,
                "records_per_event": store.records / events,
                "bytes_per_event": store.bytes / events,
            }
        )
    return rows


def profile_summary(profiler: cProfile.Profile, limit: int = 18) -> list[str]:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("tottime")
    stats.print_stats(limit)
    return [line for line in text.getvalue().splitlines() if line.strip()][-limit - 1 :]


def workdir(root: Path | None = None) -> Path:
    return Path(tempfile.mkdtemp(prefix="medalliance-bench-", dir=root))
