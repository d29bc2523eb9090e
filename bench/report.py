"""The benchmark's printed tables and its JSON record.

>>> print_report(console, results)          # throughput side by side, ratios, targets, profile
>>> path = write_json(results, RESULTS_DIR)  # bench/results/<timestamp>.json
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.table import Table

THROUGHPUT_ROWS: Final = (
    ("a", "raw", "a. raw: aiokafka consumer + orjson.loads"),
    ("b1", "naive_batch1", "b. naive Faust, Record + table[key] += 1, producer_max_batch_size=1"),
    ("b", "naive", "b. naive Faust, Record + table[key] += 1, default producer batching"),
    ("c", "floor", "c. Faust floor: raw bytes, take(2000, within=0.2), orjson, no state"),
    ("d", "quix", "d. peer: Quix Streams 3.28, RocksDB counter per key"),
    ("e", "ours", "e. ours: `medalliance worker` (validate, dedupe, aggregates, dead-letter)"),
    ("", "domain", "   ours' domain only: process_batch + dict store, in-process, no Kafka"),
)
RATIOS: Final = (
    ("e/a", "a", None),
    ("e/b", "b1", 2.0),
    ("e/b (batched)", "b", None),
    ("e/c", "c", 0.7),
    ("e/d", "d", None),
)


def rate(result: dict[str, Any] | None) -> float | None:
    if not result or "error" in result or not result.get("seconds"):
        return None
    if "rate" in result:
        return float(result["rate"])
    return float(result["events"]) / float(result["seconds"])


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def cpu_per_event(result: dict[str, Any] | None) -> float | None:
    """CPU µs per event of the consuming process (all its threads); the broker's CPU is not in it."""
    if not result or "error" in result or not result.get("cpu_seconds") or not result.get("events"):
        return None
    return 1e6 * float(result["cpu_seconds"]) / float(result["events"])


def throughput_table(results: dict[str, Any]) -> Table:
    table = Table(
        title=f"Throughput: the same log of {results['log']['events']:,} events on one tansu broker"
    )
    numeric = ("events", "seconds", "events/s", "wall µs/event", "CPU µs/event", "load")
    for column in ("", "stage", *numeric, "note"):
        table.add_column(column, justify="right" if column in numeric else "left")
    for letter, key, label in THROUGHPUT_ROWS:
        result = results["stages"].get(key)
        if result is None:
            continue
        per_second = rate(result)
        note = result.get("error") or result.get("note", "")
        table.add_row(
            letter,
            label,
            _fmt(result.get("events")),
            _fmt(result.get("seconds"), 1),
            _fmt(per_second),
            _fmt(1e6 / per_second if per_second else None, 1),
            _fmt(cpu_per_event(result), 1),
            _fmt(result.get("load"), 1),
            note,
        )
    return table


def ratios(results: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per ratio: by wall-clock events/s, and by CPU per event (robust on a shared machine)."""
    stages = results["stages"]
    ours_rate, ours_cpu = rate(stages.get("ours")), cpu_per_event(stages.get("ours"))
    values: dict[str, dict[str, float | None]] = {}
    for name, key, _ in RATIOS:
        other = stages.get(_stage_key(key))
        other_rate, other_cpu = rate(other), cpu_per_event(other)
        values[name] = {
            "wall": ours_rate / other_rate if ours_rate and other_rate else None,
            "cpu": other_cpu / ours_cpu if ours_cpu and other_cpu else None,
        }
    return values


def _stage_key(letter: str) -> str:
    return next(key for row_letter, key, _ in THROUGHPUT_ROWS if row_letter == letter)


def ratio_table(results: dict[str, Any]) -> Table:
    table = Table(title="Ratios: ours over each (by events/s; by CPU per event of the consuming process)")
    for column in ("ratio", "by events/s", "by CPU/event", "target", "status (events/s)"):
        table.add_column(column)
    values = ratios(results)
    for name, _, target in RATIOS:
        wall, cpu = values[name]["wall"], values[name]["cpu"]
        table.add_row(
            name,
            _fmt(wall, 2),
            _fmt(cpu, 2),
            f"≥ {target}" if target else "reported",
            _status_at_least(wall, target),
        )
    return table


def _status_at_least(value: float | None, target: float | None) -> str:
    if target is None or value is None:
        return ""
    return "[green]met[/]" if value >= target else f"[red]missed by {100 * (1 - value / target):.0f}%[/]"


def _status_at_most(value: float | None, target: float) -> str:
    if value is None or math.isnan(value):
        return "not measured"
    return "[green]met[/]" if value <= target else f"[red]missed: {value / target:.1f}× the target[/]"


def targets_table(results: dict[str, Any]) -> Table:
    table = Table(title="Service figures")
    for column in ("figure", "measured", "target", "status", "how"):
        table.add_column(column)
    stages = results["stages"]
    latency = stages.get("latency") or {}
    scrape = stages.get("scrape") or {}
    rss = stages.get("rss") or {}
    restart = stages.get("restart") or {}
    rss_mb = rss.get("rss_kib", 0) / 1024 if rss.get("rss_kib") else None
    rows = (
        ("p50 produce→/metrics", latency.get("p50"), None, "s", latency.get("how", "")),
        (
            "p99 produce→/metrics",
            latency.get("p99"),
            1.0,
            "s",
            f"lower bound p99 {_fmt(latency.get('p99_lower'), 3)} s",
        ),
        ("scrape time (province)", scrape.get("median_seconds"), 1.0, "s", scrape.get("how", "")),
        (
            "scrape size (province)",
            scrape.get("bytes", 0) / 1e6 if scrape.get("bytes") else None,
            None,
            "MB",
            f"{_fmt(scrape.get('series'))} series",
        ),
        ("worker RSS after the log", rss_mb, 500.0, "MB", rss.get("how", "")),
        ("restart to correct metrics", restart.get("seconds"), 15.0, "s", restart.get("how", "")),
    )
    for name, value, target, unit, how in rows:
        status = _status_at_most(value, target) if target else ""
        if "(partial" in str(how):
            status = "[yellow]log not finished in time[/]"
        table.add_row(
            name, f"{_fmt(value, 3)} {unit}", f"≤ {target} {unit}" if target else "reported", status, how
        )
    errors = {k: v["error"] for k, v in stages.items() if isinstance(v, dict) and v.get("error")}
    for stage, error in errors.items():
        table.add_row(f"[red]{stage} failed[/]", "", "", "", str(error)[:120])
    return table


def profile_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"py-spy profile of ours while draining ({summary['samples']:,} samples)")
    table.add_column("where (inclusive: on the stack)")
    table.add_column("% samples", justify="right")
    for label, share in summary["inclusive"].items():
        table.add_row(label, f"{share:.1f}")
    table.add_section()
    for frame, share in summary["self"][:10]:
        table.add_row(f"self: {frame[:90]}", f"{share:.1f}")
    return table


def amplification_table(rows: list[dict[str, float]], input_bytes: float) -> Table:
    table = Table(
        title="State writes by batch size (domain over the log's first events; 1 write = 1 changelog record)"
    )
    for column in (
        "events per batch (per feed)",
        "changelog records/event",
        "changelog bytes/event",
        "input bytes/event",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            _fmt(row["batch"]),
            _fmt(row["records_per_event"], 3),
            _fmt(row["bytes_per_event"]),
            _fmt(input_bytes),
        )
    return table


def print_report(console: Console, results: dict[str, Any]) -> None:
    machine = results["machine"]
    console.print(
        f"[bold]Machine[/]: {machine['nproc']} CPUs, {machine['cpu']}, {machine['memory_gib']} GiB; "
        f"Python {machine['python']}; {machine['platform']}"
    )
    log = results["log"]
    console.print(f"[bold]Log[/]: {log['description']}")
    console.print(throughput_table(results))
    console.print(ratio_table(results))
    quix = results["stages"].get("quix") or {}
    if quix.get("shim"):
        console.print(f"[bold]Quix tansu shim[/]: {quix['shim']}")
    domain = results["stages"].get("domain") or {}
    if domain.get("write_amplification"):
        console.print(amplification_table(domain["write_amplification"], log.get("bytes_mean", 0.0)))
    console.print(targets_table(results))
    profile = results.get("profile")
    if profile and profile.get("samples"):
        console.print(profile_table(profile))


def write_json(results: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}.json"
    results = {**results, "ratios": ratios(results)}
    path.write_text(json.dumps(results, indent=2, default=str))
    return path
