"""End to end on the real brokers (Apache Kafka; the ground truth on tansu too): a seeded log with
duplicates, reordering and malformed messages of every reason, consumed by a real worker process;
every contract metric must equal the reference recomputed from the log (tests/support/reference.py),
and every malformed message must be on the dead-letter topic with its reason.

The log ends now, so clock-dependent figures are live: visits after local midnight are put in at
any hour (tests/support/clock.py), and each scrape is bracketed by two readings of the reference,
taken again when a clock boundary fell between them."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from schemas.registry import Registry
from streams.broker import ensure_topics
from streams.settings import Settings
from streams.simulate import generate
from streams.simulate.wire import encode, feed_of_event, message_key
from streams.worker_process import WorkerProcess
from tests.support.clock import referrals_today, settled_scrape, visits_today, wait_past_midnight
from tests.support.compare import mismatches
from tests.support.contract import REJECT_REASONS
from tests.support.faults import malformed_messages
from tests.support.reference import Expected, Published, expected_metrics, verdicts
from tests.support.stack import committed_total, produce

pytestmark = pytest.mark.slow

HEARTBEAT_KEEP = 0.25  # heartbeats are 95% of a simulated day; keep enough to test them, not drown the rest
MIN_EVENTS = 20_000


def build_log(registry: Registry, settings: Settings, now: datetime, *, seed: int) -> list[Published]:
    """≥ 20,000 messages: simulated events up to now (with visits after local midnight at any
    hour), 2% exact and 0.5% altered duplicates, local reordering, and ≥ 1% malformed messages
    covering every reject reason."""
    rng = random.Random(seed)
    start, duration = now - timedelta(hours=14), timedelta(hours=13, minutes=50)
    generated = list(generate(registry, seed=seed, start=start, duration=duration))
    generated += visits_today(registry, seed=seed, now=now) + referrals_today(registry, now=now)
    heartbeats = sum(1 for e in generated if e["type"] == "heartbeat")
    # A window holding a night has far fewer events (clinics closed, few admissions): keep more
    # heartbeats then, so that the log is as large whatever hour the suite runs at.
    wanted = MIN_EVENTS * 1.05 - (len(generated) - heartbeats)
    keep = max(HEARTBEAT_KEEP, min(1.0, wanted / max(1, heartbeats)))
    events = [e for e in generated if e["type"] != "heartbeat" or rng.random() < keep]
    for event in rng.sample(events, len(events) // 50):
        events.insert(rng.randrange(len(events)), dict(event))
    for event in rng.sample(events, len(events) // 200):
        altered = dict(
            event,
            occurred_at=(datetime.fromisoformat(event["occurred_at"]) - timedelta(seconds=7)).isoformat(),
        )
        events.insert(rng.randrange(len(events)), altered)
    window = 40
    for start in range(0, len(events), window):
        chunk = events[start : start + window]
        rng.shuffle(chunk)
        events[start : start + window] = chunk
    log = [Published(feed_of_event(e), message_key(e).encode(), encode(e), None) for e in events]
    bad = malformed_messages(
        registry, now=now, seed=seed, count=max(len(log) // 60, 20 * len(REJECT_REASONS))
    )
    for feed, raw, reason in bad:
        log.insert(rng.randrange(len(log)), Published(feed, b"bad-key", raw, reason))
    return log


def publish(settings: Settings, log: list[Published]) -> int:
    return produce(settings, ((settings.topic(m.feed), m.key, m.value) for m in log))  # type: ignore[arg-type]


def visits_today_by_kind(expected: Expected) -> dict[str, float]:
    kinds: dict[str, float] = {}
    for (name, labels), value in expected.items():
        if name == "medalliance_visits_today":
            kind = dict(labels)["kind"]
            kinds[kind] = kinds.get(kind, 0.0) + value
    return kinds


def dead_letters(settings: Settings, count: int, timeout: float = 60.0) -> list[dict]:
    consumer = KafkaConsumer(
        settings.topic_dead_letter,
        bootstrap_servers=settings.bootstrap_servers(),
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
    )
    records: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            records.extend(json.loads(message.value) for message in consumer)
    finally:
        consumer.close()
    return records


def check_against_reference(
    worker: WorkerProcess, log: list[Published], registry: Registry, settings: Settings
) -> None:
    worker.wait_consumed(len(log), timeout=300)
    samples, expected = settled_scrape(worker.scrape, lambda now: expected_metrics(log, now=now))
    # The five centers' and the referrals' figures are among those compared (today's referrals of
    # every direction at any hour, by construction: tests/support/clock.py).
    names = {name for name, _ in expected}
    assert {"medalliance_case_interval_seconds_count", "medalliance_cases_open"} <= names
    today = {
        dict(labels)["direction"]
        for (name, labels), v in expected.items()
        if name == "medalliance_referrals_today" and v
    }
    assert today == {"up", "down", "lateral", "external"}, today
    assert {"medalliance_referrals_pending", "medalliance_referral_stage_seconds_count"} <= names
    problems = mismatches(samples, expected)
    assert problems == [], "\n".join(problems)


def test_metrics_equal_the_reference_and_bad_messages_are_dead_lettered(
    registry: Registry, each_settings: Settings, tmp_path: Path
) -> None:
    """On Apache Kafka and on tansu (the demo's fallback)."""
    settings = each_settings
    log = build_log(registry, settings, wait_past_midnight(), seed=11)
    assert len(log) >= MIN_EVENTS
    today = visits_today_by_kind(expected_metrics(log, now=datetime.now(UTC)))
    assert today.get("outpatient", 0) > 0 and today.get("emergency", 0) > 0, today
    bad = [m for m in log if m.reason]
    assert len(bad) >= len(log) // 100 and {m.reason for m in bad} == set(REJECT_REASONS)
    # The premise: the reference, decoding every message itself, rejects exactly the fault table's.
    assert [v.reason for v in verdicts(log, now=datetime.now(UTC))] == [m.reason for m in log]
    ensure_topics(settings)
    worker = WorkerProcess(settings, tmp_path).start().wait_ready()
    try:
        publish(settings, log)
        check_against_reference(worker, log, registry, settings)
        letters = dead_letters(settings, len(bad))
        assert Counter((r["reason"], r.get("original")) for r in letters) == Counter(
            (m.reason, m.value.decode("utf-8", errors="strict") if _utf8(m.value) else None) for m in bad
        )
        assert all(
            {"message", "feed", "topic", "partition", "offset", "received_at"} <= set(r) for r in letters
        )
    finally:
        worker.stop()


def test_a_restart_mid_stream_keeps_the_metrics_true(
    registry: Registry, settings: Settings, tmp_path: Path
) -> None:
    log = build_log(registry, settings, wait_past_midnight(), seed=12)
    ensure_topics(settings)
    worker = WorkerProcess(settings, tmp_path).start().wait_ready()
    try:
        half = len(log) // 2
        publish(settings, log[:half])
        worker.wait_consumed(half // 3, timeout=120)
        worker.stop()
        # The premise: it stopped while still consuming (a stopping worker commits what it did).
        assert committed_total(settings) < half, "the worker had finished the first half"
        publish(settings, log[half:])
        worker.start().wait_ready()
        check_against_reference(worker, log, registry, settings)
    finally:
        worker.stop()


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
