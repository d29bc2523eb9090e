"""Hostile input through the real broker and worker, and no pseudonym anywhere it should not be.

More than 10,000 hypothesis-generated malformed and adversarial messages, interleaved with a
simulated stream: every bad one is on the dead-letter topic with the reason it was made with, the
worker never stops, every valid one is counted (all contract metrics equal the reference), and no
encounter_id, visit_id or request_id of the log appears in /metrics, /api/requests/open or the
worker's log.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schemas.registry import Registry
from streams.broker import Broker, ensure_topics
from streams.dead_letter import read_dead_letters
from streams.worker_process import SampleKey, WorkerProcess
from tests.conftest import broker_settings
from tests.reliability.harness import fault_log, pseudonyms_of, publish, settled_mismatches
from tests.reliability.hostile import Case, dumps, hostile_cases
from tests.support.contract import EXTERNAL_LABEL
from tests.support.reference import Published

logger = logging.getLogger(__name__)
MALFORMED_WANTED: Final = 10_000
BATCH: Final = 20
# Future timestamps are judged when processed, later than made: keep them an hour beyond the line.
CLOCK_MARGIN: Final = timedelta(hours=1)
# The valid stream the hostile messages are mixed into: an hour of a simulated morning.
STREAM_MESSAGES: Final = 4_000
STREAM_ENTITY_EVENTS: Final = 1_500


def hostile_batch(registry: Registry, now: datetime) -> list[Case]:
    """Draw cases from hypothesis (deterministically) until MALFORMED_WANTED are malformed."""
    cases: list[Case] = []

    @settings(
        max_examples=MALFORMED_WANTED // BATCH * 2,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(hostile_cases(registry, now, margin=CLOCK_MARGIN), min_size=BATCH, max_size=BATCH))
    def draw(batch: list[Case]) -> None:
        if sum(case.reason is not None for case in cases) < MALFORMED_WANTED:
            cases.extend(batch)

    draw()
    assert sum(case.reason is not None for case in cases) >= MALFORMED_WANTED
    return cases


def unique_ids(case: Case, index: int) -> Published:
    """The case as published; a valid one gets an event_id of its own (hypothesis repeats small
    values, and the service dedupes per partition: two keys sharing an id is not a duplicate it sees)."""
    if case.reason is not None:
        return Published(case.feed, case.key, case.raw, case.reason)
    event = orjson.loads(case.raw)
    event["event_id"] = f"hx-{index}"
    return Published(case.feed, case.key, dumps(event), None)


def interleave(stream: list[Published], cases: list[Case], seed: int) -> list[Published]:
    """Hostile cases at random places; the simulated stream keeps its own order."""
    rng = random.Random(seed)
    extra = [unique_ids(case, index) for index, case in enumerate(cases)]
    spots = sorted(rng.randrange(len(stream) + 1) for _ in extra)
    merged: list[Published] = []
    position = 0
    for spot, message in zip(spots, extra, strict=True):
        merged.extend(stream[position:spot])
        merged.append(message)
        position = spot
    return merged + stream[position:]


def label_values_outside_registry(samples: dict[SampleKey, float], registry: Registry) -> list[str]:
    """Facility and ward labels come from the registry only (or `unknown` for rejected messages; an
    outside destination's scope label, and "" for a referral's ward not named: docs/contract.md)."""
    facilities = set(registry.facilities) | {"unknown"} | set(EXTERNAL_LABEL.values())
    wards = {ward for facility in registry.facilities.values() for ward in facility.wards} | {""}
    odd: list[str] = []
    for name, labels in samples:
        for label, value in labels:
            known = wards if label == "ward" else facilities if "facility" in label else None
            if known is not None and value not in known:
                odd.append(f"{name}{{{label}={value!r}}}")
    return odd


def listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses with a listening TCP socket on `port` (from /proc/net/tcp*)."""
    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                found.add(
                    ".".join(str(b) for b in raw[::-1]) if width == 8 else ipaddress.IPv6Address(
                        b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    ).compressed
                )  # fmt: skip
    return found


@pytest.mark.slow
def test_ten_thousand_hostile_messages_are_dead_lettered_and_valid_ones_counted(
    broker: Broker, registry: Registry, tmp_path: Path
) -> None:
    settings_ = broker_settings(broker, f"hostile-{datetime.now(UTC).timestamp():.0f}")
    ensure_topics(settings_)
    began = time.monotonic()
    cases = hostile_batch(registry, datetime.now(UTC))
    drawn = time.monotonic()
    stream = fault_log(registry, seed=5, messages=STREAM_MESSAGES, entity_events=STREAM_ENTITY_EVENTS)
    log = interleave(stream, cases, seed=5)
    worker = WorkerProcess(settings_, tmp_path, name="hostile").start().wait_ready()
    try:
        ready = time.monotonic()
        publish(settings_, log)
        published = time.monotonic()
        samples = worker.wait_consumed(len(log), timeout=300)
        logger.warning(
            "hostile: drawn %.1f s, worker ready %.1f s, published %.1f s, consumed %.1f s (%d messages)",
            drawn - began, ready - drawn, published - ready, time.monotonic() - published, len(log),
        )  # fmt: skip
        samples, problems = settled_mismatches(worker.scrape, log)
        (tmp_path / "mismatches.txt").write_text("\n".join(problems))
        assert problems == []

        letters = read_dead_letters(settings_)
        got = Counter((letter.original, letter.reason) for letter in letters)
        want = Counter((m.value, m.reason) for m in log if m.reason is not None)
        assert got == want

        scraped = worker.get("/metrics").decode() + worker.get("/api/requests/open").decode()
        worker_log = worker.log_path.read_text(errors="replace")
        pseudonyms = pseudonyms_of(log)
        assert len(pseudonyms) > 1000
        assert [p for p in pseudonyms if p in scraped] == []
        assert [p for p in pseudonyms if p in worker_log] == []
        assert label_values_outside_registry(samples, registry) == []
        assert listening_addresses(worker.web_port) == {"127.0.0.1"}
        kinds = Counter(case.kind for case in cases)
        logger.warning(
            "hostile messages: %d malformed of %d cases; kinds %s", sum(want.values()), len(cases), kinds
        )
    finally:
        worker.stop()
