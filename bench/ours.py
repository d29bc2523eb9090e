"""Our pipeline as the product runs it: a real `medalliance worker` child process on tansu, memory
store, default batch settings, measured from the outside through /metrics and /proc.

    >>> worker = start_worker(settings, workdir, "ours")
    >>> drained = drain(worker, expected=200_000, timeout=600, progress=progress)
    >>> reference = stable_view(worker.scrape())

"Handled" is accepted + duplicate + rejected messages summed over /metrics
(tests.support.stack.handled_messages), so a number is only counted once the worker exports it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from faust.types import TP
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.events import FEEDS
from streams.broker import free_port
from streams.settings import Settings, load_settings
from streams.tansu import true_end_offsets
from streams.worker_process import SampleKey, WorkerProcess, handled_messages, parse_metrics

# Metrics whose values depend only on the log (not on the clock at scrape time): a restarted
# worker is "correct" when all of these match the reference scrape.
STABLE_METRICS: Final = (
    "medalliance_events_total",
    "medalliance_facility_events_total",
    "medalliance_events_duplicate_total",
    "medalliance_events_rejected_total",
    "medalliance_beds_staffed",
    "medalliance_beds_occupied",
    "medalliance_visits_total",
    "medalliance_ed_departures_total",
    "medalliance_requests_open",
    "medalliance_feed_last_seen_timestamp_seconds",
)
_POLL: Final = 0.25


@dataclass
class Drain:
    events: int
    seconds: float  # from the first commit seen to the one covering everything
    first_handled: float
    wall_seconds: float  # from the process start (includes start-up and the group join)
    cpu_seconds: float  # the worker's CPU time over `seconds`
    confirmed: float  # handled messages at /metrics at the end

    @property
    def rate(self) -> float:
        return (self.events - self.first_handled) / self.seconds if self.seconds > 0 else 0.0


def bench_settings(bootstrap: str, prefix: str, **overrides: Any) -> Settings:
    """Settings as `medalliance up` runs on tansu (memory store, defaults), with topics of `prefix`."""
    values: dict[str, Any] = {
        "broker_url": f"kafka://{bootstrap}",
        "broker_is_tansu": True,
        "topic_beds": f"{prefix}.beds",
        "topic_visits": f"{prefix}.visits",
        "topic_requests": f"{prefix}.requests",
        "topic_dead_letter": f"{prefix}.dead-letter",
        "app_id": f"{prefix}-ours",
        "store": "memory",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return load_settings(**values)


def start_worker(settings: Settings, workdir: Path, name: str) -> WorkerProcess:
    return WorkerProcess(settings, workdir, web_port=free_port(), name=name).start()


def try_scrape(worker: WorkerProcess) -> tuple[dict[SampleKey, float] | None, float, int]:
    """(samples or None when not up yet, seconds the scrape took, bytes)."""
    started = time.perf_counter()
    try:
        body = worker.get("/metrics", timeout=30)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None, time.perf_counter() - started, 0
    return parse_metrics(body.decode()), time.perf_counter() - started, len(body)


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process so far (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def committed_messages(admin: KafkaAdminClient, group: str, topics: set[str]) -> int | None:
    """Messages of `topics` the group has committed (offsets start at 0 on a fresh broker); None
    when the broker does not answer in time (a busy tansu: try again at the next poll)."""
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    except KafkaError:
        return None
    return sum(max(0, meta.offset) for tp, meta in offsets.items() if tp.topic in topics)


def drain(
    worker: WorkerProcess, *, expected: int, timeout: float, on_progress: Callable[[float], None]
) -> Drain:
    """Wait until the worker has handled `expected` messages; time it from the first progress.

    Progress is read from the group's committed offsets (no load on the worker: a /metrics
    scrape at region scale takes the worker's event loop for a second or more); Faust commits
    every 2.8 s, which delays the first and the last observation alike. The end is confirmed
    at /metrics (handled = accepted + duplicate + rejected = expected)."""
    settings = worker.settings
    topics = {settings.topic(feed) for feed in FEEDS}
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers(), client_id="bench-drain")
    started = time.monotonic()
    first: tuple[float, float, float] | None = None
    done = 0
    try:
        while done < expected:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"worker committed {done} of {expected} in {timeout:.0f} s")
            if worker.process is not None and worker.process.poll() is not None:
                raise RuntimeError(f"worker exited; log: {worker.log_tail(10)}")
            done = committed_messages(admin, settings.app_id, topics) or done
            on_progress(done)
            if done > 0 and first is None:
                assert worker.process is not None
                first = (time.monotonic(), done, cpu_seconds(worker.process.pid))
            if done < expected:
                time.sleep(_POLL)
    finally:
        admin.close()
    assert first is not None and worker.process is not None
    finished, cpu = time.monotonic(), cpu_seconds(worker.process.pid) - first[2]
    confirmed = worker.wait_consumed(expected, timeout=120)
    return Drain(
        expected, finished - first[0], first[1], finished - started, cpu, handled_messages(confirmed)
    )


def stable_view(samples: dict[SampleKey, float]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """STABLE_METRICS without the partition label (sum; max for the timestamps)."""
    view: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for (name, labels), value in samples.items():
        if name not in STABLE_METRICS:
            continue
        key = (name, frozenset((k, v) for k, v in labels if k != "partition"))
        if name.endswith("_timestamp_seconds"):
            view[key] = max(view.get(key, value), value)
        else:
            view[key] = view.get(key, 0.0) + value
    return view


def restart_to_correct(
    worker: WorkerProcess, workdir: Path, *, timeout: float
) -> tuple[WorkerProcess, dict[str, Any]]:
    """kill -9 the worker, start a new one on the same group; seconds until /metrics matches again."""
    reference = stable_view(worker.scrape())
    worker.stop(signal.SIGKILL)
    replacement = WorkerProcess(worker.settings, workdir, web_port=free_port(), name="restarted").start()
    started = time.monotonic()
    mismatched, ready = len(reference), None
    while time.monotonic() - started < timeout:
        health = replacement.health()
        if ready is None and health and health.get("status") == "ok":
            ready = time.monotonic() - started
        samples, _, _ = try_scrape(replacement)
        if samples is not None:
            view = stable_view(samples)
            mismatched = sum(1 for key, value in reference.items() if abs(view.get(key, -1.0) - value) > 1e-6)
            if mismatched == 0 and len(view) == len(reference):
                seconds = time.monotonic() - started
                return replacement, {"seconds": seconds, "ready_seconds": ready, "series": len(reference)}
        time.sleep(0.2)
    raise TimeoutError(f"restarted worker still had {mismatched} wrong series after {timeout:.0f} s")


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, from /proc/<pid>/status."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def scrape_stats(worker: WorkerProcess, repeats: int) -> dict[str, Any]:
    """Time `repeats` scrapes of /metrics; size in bytes and series."""
    times, size, series = [], 0, 0
    for _ in range(repeats):
        started = time.perf_counter()
        body = worker.get("/metrics", timeout=60)
        times.append(time.perf_counter() - started)
        size = len(body)
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    times.sort()
    return {
        "median_seconds": times[len(times) // 2],
        "max_seconds": times[-1],
        "bytes": size,
        "series": series,
    }


def py_spy_start(py_spy: Path, pid: int, out: Path) -> subprocess.Popen[bytes]:
    """Sample the worker with py-spy (raw collapsed stacks) until py_spy_stop()."""
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--output",
            str(out),
            "--rate",
            "100",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def py_spy_stop(process: subprocess.Popen[bytes]) -> None:
    """py-spy writes its output when interrupted."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def changelog_records(settings: Settings) -> int:
    """Records in the worker's changelog topics: their true ends (ListOffsets is short on tansu
    after a multi-record batch, BROKER.md quirk 1; `streams.tansu` mends it for the worker too)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers(), enable_auto_commit=False)
    try:
        names = [t for t in consumer.topics() if t.startswith(f"{settings.app_id}-") and "changelog" in t]
        partitions = [
            TopicPartition(name, p) for name in names for p in consumer.partitions_for_topic(name) or ()
        ]
        listed = {TP(*tp): offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()
    ends = asyncio.run(true_end_offsets(listed, bootstrap_servers=settings.bootstrap_servers()))
    return sum(ends.values())
