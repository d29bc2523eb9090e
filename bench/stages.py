"""The stages of one benchmark run, each returning a JSON-able dict (bench/run.py prints them).

>>> run = Run(args, bootstrap, workdir, progress, region, region_path, county)
>>> run.load_main_log(start); run.raw(); run.ours(); run.restart()
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from rich.progress import Progress

from bench import environment, latency, ours, peers, profile_summary, workload
from schemas.events import FEEDS
from schemas.registry import Registry, dump_registry
from streams.broker import ensure_topics
from streams.settings import Settings
from streams.simulate import scale_registry
from streams.worker_process import WorkerProcess

ALL: Final = (
    "raw",
    "domain",
    "floor",
    "naive_batch1",
    "naive",
    "quix",
    "ours",
    "restart",
    "profile",
    "latency",
    "scrape",
    "rss",
)
_CHILD_TIMEOUT: Final = 600.0
_READY_TIMEOUT: Final = 120.0
# The profile samples the drain of the log's first events (enough samples, less run time).
_PROFILE_EVENTS: Final = 120_000
# State writes per event depend on the batch size: measured on the log's first events.
_AMPLIFICATION_EVENTS: Final = 100_000
_AMPLIFICATION_BATCHES: Final = (2000, 250, 30)


@dataclass
class Run:
    args: argparse.Namespace
    bootstrap: str
    workdir: Path
    progress: Progress
    region: Registry
    region_path: Path
    county: Registry
    records: list[workload.Record] = field(default_factory=list)
    settings: Settings | None = None
    worker: WorkerProcess | None = None

    # -- the shared log -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the drained worker kept for the restart stage (when that stage did not run)."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def load_main_log(self, start: datetime) -> dict[str, Any]:
        self.settings = ours.bench_settings(self.bootstrap, "bench", registry_path=self.region_path)
        ensure_topics(self.settings)
        task = self.progress.add_task("generating the simulated log", total=self.args.events)
        records = []
        for record in workload.mixed(
            workload.simulated(
                self.region, seed=self.args.seed, start=start, heartbeat_keep=workload.HEARTBEAT_KEEP
            ),
            count=self.args.events,
            seed=self.args.seed,
        ):
            records.append(record)
            if len(records) % 5000 == 0:
                self.progress.update(task, completed=len(records))
        self.progress.update(task, completed=len(records))
        self.records = records
        produce = self.progress.add_task("producing it to tansu", total=None)
        produced = time.perf_counter()
        ends = asyncio.run(workload.produce_log(self.bootstrap, self.topics, records))
        self.progress.update(produce, completed=len(records), total=len(records))
        heartbeats = sum(1 for r in records if b'"type":"heartbeat"' in r.value)
        return {
            "events": len(records),
            "bytes_mean": sum(len(r.value) for r in records) / max(1, len(records)),
            "produce_seconds": time.perf_counter() - produced,
            "partitions": len(ends),
            "heartbeat_share": heartbeats / max(1, len(records)),
            "description": (
                f"{len(records):,} simulated events of a {len(self.region.facilities):,}-facility region "
                f"(county ×10), heartbeats thinned to 1 in {workload.HEARTBEAT_KEEP} "
                f"({100 * heartbeats / max(1, len(records)):.0f}% of the log), ~0.5% invalid, "
                f"~0.5% duplicate event_ids; 3 topics × {self.settings.partitions} partitions"
            ),
        }

    @property
    def topics(self) -> dict[str, str]:
        assert self.settings is not None
        return {feed: self.settings.topic(feed) for feed in FEEDS}

    # -- peers ----------------------------------------------------------------------------------
    def raw(self) -> dict[str, Any]:
        task = self.progress.add_task("a. raw aiokafka consumer", total=None)
        result = asyncio.run(
            peers.raw_consumer(
                self.bootstrap,
                list(self.topics.values()),
                group="bench-raw",
                expected=len(self.records),
                timeout=300,
            )
        )
        self.progress.update(task, completed=result["events"], total=result["events"])
        return result

    def domain(self) -> dict[str, Any]:
        task = self.progress.add_task("   domain only (process_batch, cProfile)", total=None)
        assert self.settings is not None
        plain = peers.domain_run(self.records, self.region, partitions=self.settings.partitions)
        profiled = peers.domain_run(
            self.records,
            self.region,
            partitions=self.settings.partitions,
            profile_to=self.workdir / "domain.prof",
        )
        amplification = peers.write_amplification(
            self.records[:_AMPLIFICATION_EVENTS],
            self.region,
            partitions=self.settings.partitions,
            batches=_AMPLIFICATION_BATCHES,
        )
        self.progress.update(task, completed=plain["events"], total=plain["events"])
        return {
            **plain,
            "profile_top": profiled["profile_top"],
            "write_amplification": amplification,
            "note": "no Kafka, no Faust; dict store",
        }

    def _faust(self, name: str, label: str, *extra: str) -> dict[str, Any]:
        task = self.progress.add_task(label, total=None)
        out, log = peers.child_paths(self.workdir, name)
        command = [
            sys.executable,
            str(Path(__file__).parent / "faust_peer.py"),
            *extra,
            "--bootstrap",
            self.bootstrap,
            "--topics",
            ",".join(self.topics.values()),
            "--group",
            f"bench-{name}",
            "--expected",
            str(len(self.records)),
            "--out",
            str(out),
            "--limit-seconds",
            str(self.args.peer_limit),
        ]
        result = peers.run_child(command, out=out, timeout=_CHILD_TIMEOUT, log=log)
        self.progress.update(task, completed=result["events"], total=result["events"])
        return result

    def floor(self) -> dict[str, Any]:
        return self._faust("floor", "c. Faust floor (take 2000, raw bytes)", "--mode", "floor")

    def naive_batch1(self) -> dict[str, Any]:
        return self._faust(
            "naive-batch1", "b. naive Faust, producer_max_batch_size=1", "--mode", "naive", "--batch1"
        )

    def naive(self) -> dict[str, Any]:
        return self._faust("naive", "b. naive Faust, default batching", "--mode", "naive")

    def quix(self) -> dict[str, Any]:
        python = environment.bench_python()
        if not python.exists():
            raise RuntimeError("bench/.venv is missing: run `make bench` (bench/run.py --setup)")
        task = self.progress.add_task("d. Quix Streams 3.28 (bench/.venv)", total=None)
        out, log = peers.child_paths(self.workdir, "quix")
        command = [
            str(python),
            str(Path(__file__).parent / "quix_peer.py"),
            "--bootstrap",
            self.bootstrap,
            "--topics",
            ",".join(self.topics.values()),
            "--group",
            "bench-quix",
            "--expected",
            str(len(self.records)),
            "--out",
            str(out),
        ]
        result = peers.run_child(command, out=out, timeout=_CHILD_TIMEOUT, log=log)
        self.progress.update(task, completed=result["events"], total=result["events"])
        return result

    # -- ours -----------------------------------------------------------------------------------
    def _drain(
        self, settings: Settings, name: str, label: str, expected: int, timeout: float = 900.0
    ) -> tuple[WorkerProcess, ours.Drain]:
        task = self.progress.add_task(label, total=expected)
        worker = ours.start_worker(settings, self.workdir, name)
        try:
            drained = ours.drain(
                worker,
                expected=expected,
                timeout=timeout,
                on_progress=lambda n: self.progress.update(task, completed=n),
            )
        except BaseException:
            worker.stop()
            raise
        return worker, drained

    def ours(self) -> dict[str, Any]:
        assert self.settings is not None
        worker, drained = self._drain(self.settings, "ours", "e. ours: medalliance worker", len(self.records))
        self.worker = worker
        assert worker.process is not None
        changelog = ours.changelog_records(self.settings)
        return {
            "events": drained.events,
            "seconds": drained.seconds,
            "rate": drained.rate,
            "cpu_seconds": drained.cpu_seconds
            * (drained.events / max(1.0, drained.events - drained.first_handled)),
            "wall_seconds": drained.wall_seconds,
            "first_handled": drained.first_handled,
            "rss_kib": ours.rss_kib(worker.process.pid).get("VmRSS"),
            "changelog_records": changelog,
            "changelog_per_event": changelog / max(1, drained.events),
            "note": f"from the first commit ({drained.first_handled:,.0f} done) to the last; "
            f"with start-up and group join {drained.wall_seconds:.0f} s; "
            f"{changelog / max(1, drained.events):.3f} changelog records/event",
        }

    def restart(self) -> dict[str, Any]:
        assert self.settings is not None
        if self.worker is None:
            self.worker, _ = self._drain(
                self.settings, "ours", "e. ours (for the restart)", len(self.records)
            )
        task = self.progress.add_task("restart (kill -9, new worker, same group)", total=None)
        try:
            replacement, result = ours.restart_to_correct(self.worker, self.workdir, timeout=180)
            replacement.stop()
        finally:
            self.worker.stop()
            self.worker = None
        self.progress.update(task, completed=1, total=1)
        result["how"] = (
            f"kill -9 after {len(self.records):,} events ({len(self.region.facilities):,} facilities), "
            f"memory store: new process until {result['series']} stable series match "
            f"(/health ok after {result.get('ready_seconds') or float('nan'):.1f} s)"
        )
        return result

    def profile(self) -> dict[str, Any]:
        assert self.settings is not None
        settings = self.settings.model_copy(update={"app_id": "bench-profiled"})
        task = self.progress.add_task(
            "profile: ours again under py-spy", total=min(len(self.records), _PROFILE_EVENTS)
        )
        worker = ours.start_worker(settings, self.workdir, "profiled")
        assert worker.process is not None
        output = self.workdir / "py-spy.txt"
        spy = ours.py_spy_start(environment.py_spy(), worker.process.pid, output)
        try:
            drained = ours.drain(
                worker,
                expected=min(len(self.records), _PROFILE_EVENTS),
                timeout=900,
                on_progress=lambda n: self.progress.update(task, completed=n),
            )
        finally:
            ours.py_spy_stop(spy)
            worker.stop()
        summary = profile_summary.summarize(output)
        return {**summary, "rate_under_profiler": drained.rate, "raw_profile": str(output)}

    # -- service figures ------------------------------------------------------------------------
    def _fresh(self, prefix: str, registry_path: Path) -> Settings:
        settings = ours.bench_settings(self.bootstrap, prefix, registry_path=registry_path)
        ensure_topics(settings)
        return settings

    def _ready_worker(self, settings: Settings, name: str) -> WorkerProcess:
        worker = ours.start_worker(settings, self.workdir, name)
        try:
            return worker.wait_ready(timeout=_READY_TIMEOUT)
        except BaseException:
            worker.stop()
            raise

    def latency(self) -> dict[str, Any]:
        settings = self._fresh("lat", self.region_path)
        worker = self._ready_worker(settings, "latency")
        task = self.progress.add_task(f"latency at {self.args.rate:,.0f} events/s", total=None)
        start = datetime.now(UTC) - timedelta(days=1)
        background = (
            r
            for r in workload.mixed(
                workload.simulated(
                    self.region, seed=self.args.seed + 1, start=start, heartbeat_keep=workload.HEARTBEAT_KEEP
                ),
                count=10**9,
                seed=self.args.seed,
            )
        )
        facilities = list(self.region.facilities)[: latency.PROBES]
        topics: dict[str, str] = {feed: settings.topic(feed) for feed in FEEDS}
        try:
            result = asyncio.run(
                latency.measure(
                    worker,
                    self.bootstrap,
                    topics,
                    background,
                    facilities,
                    rate=self.args.rate,
                    seconds=self.args.latency_seconds,
                )
            )
        finally:
            worker.stop()
        self.progress.update(task, completed=result["probes"], total=result["probes"])
        result["how"] = (
            f"{result['probes']} probe heartbeats in {self.args.latency_seconds:.0f} s at "
            f"{self.args.rate:,.0f}/s, {result['missing']} not visible 5 s after the end; p50 of the first "
            f"third {result['p50_first_third']:.2f} s, last third {result['p50_last_third']:.2f} s; "
            f"scrape every {result['scrape_period']:.3f} s"
        )
        return result

    def scrape(self) -> dict[str, Any]:
        province = scale_registry(self.county, self.args.scale)
        path = self.workdir / "province.yaml"
        path.write_text(dump_registry(province), encoding="utf-8")
        settings = self._fresh("prov", path)
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
        log = workload.covering_log(
            province, seed=self.args.seed, start=start, duration=timedelta(minutes=self.args.province_minutes)
        )
        asyncio.run(workload.produce_log(self.bootstrap, {f: settings.topic(f) for f in FEEDS}, log))
        worker, drained = self._drain(
            settings, "province", f"province scale ×{self.args.scale}: draining", len(log)
        )
        try:
            stats = ours.scrape_stats(worker, repeats=5)
        finally:
            worker.stop()
        stats["how"] = (
            f"{len(province.facilities):,} facilities, {len(log):,} events "
            f"({self.args.province_minutes:.0f} simulated min); median of 5 scrapes"
        )
        stats["drain_rate"] = drained.rate
        return stats

    def rss(self) -> dict[str, Any]:
        settings = self._fresh("rss", self.region_path)
        worker = self._ready_worker(settings, "rss")
        assert worker.process is not None
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
        records = workload.mixed(
            workload.simulated(self.region, seed=self.args.seed + 2, start=start, heartbeat_keep=1),
            count=self.args.rss_events,
            seed=self.args.seed + 2,
        )
        task = self.progress.add_task(f"RSS: {self.args.rss_events:,} events", total=self.args.rss_events)
        handled, partial, seen = self.args.rss_events, "", [0.0]

        def progress(n: float) -> None:
            seen[0] = n
            self.progress.update(task, completed=n)

        try:
            asyncio.run(workload.produce_log(self.bootstrap, {f: settings.topic(f) for f in FEEDS}, records))
            try:
                drained_rate: float | None = ours.drain(
                    worker,
                    expected=self.args.rss_events,
                    timeout=self.args.rss_timeout,
                    on_progress=progress,
                ).rate
            except TimeoutError as exc:
                # Too slow to finish in time: still report the memory reached so far, marked partial.
                drained_rate, partial = None, f" (partial: {exc})"
                handled = int(seen[0])
            memory = ours.rss_kib(worker.process.pid)
            keys = _state_keys(worker)
        finally:
            worker.stop()
        return {
            "events": handled,
            "rss_kib": memory.get("VmRSS"),
            "hwm_kib": memory.get("VmHWM"),
            "drain_rate": drained_rate,
            "state_keys": keys,
            "how": f"VmRSS after {handled:,} simulated events (as simulated: ~95% heartbeats), "
            f"peak {memory.get('VmHWM', 0) / 1024:.0f} MB, {keys:,} state keys{partial}",
        }


def _state_keys(worker: WorkerProcess) -> int:
    samples = worker.scrape()
    return int(sum(v for (name, _), v in samples.items() if name == "medalliance_state_keys"))
