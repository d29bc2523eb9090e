"""What every reliability test shares: a published log, publishing it, and the comparison with the
independent reference (tests/support/reference.py).

    >>> log = fault_log(registry, seed=3)          # >= 20,000 messages, yesterday morning, any hour
    >>> publish(settings, log)
    >>> worker.wait_consumed(len(log))
    >>> samples, problems = settled_mismatches(worker.scrape, log)
    >>> assert problems == []                      # tests/support/compare.py: every contract series

A fault test's log is sized by count and taken from a fixed time of day on the most recent past
day, so that what it holds does not depend on the hour the suite runs at (a night window holds a
tenth of a morning's traffic), and it ends long before now: no clock-dependent figure (ED long
stay, overdue, visits today, last hour) can change while the test runs.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from schemas.registry import Registry
from streams.settings import Settings
from streams.simulate import encode, generate
from streams.simulate.wire import feed_of_event, message_key
from streams.worker_process import SampleKey, WorkerProcess, handled_messages
from tests.support.clock import past_morning, settled_scrape
from tests.support.compare import mismatches
from tests.support.reference import Expected, Published, expected_metrics
from tests.support.stack import PROJECT_ROOT, produce, total

# The simulator sends a heartbeat per facility and feed every minute (93% of its traffic); the tests
# keep one in HEARTBEAT_KEEP so that bed, visit and request events make up most of the log.
HEARTBEAT_KEEP: Final = 10
PSEUDONYM_FIELDS: Final = ("encounter_id", "visit_id", "request_id")
DUPLICATES: Final = "medalliance_events_duplicate_total"
MIN_MESSAGES: Final = 20_000
MIN_ENTITY_EVENTS: Final = 5_000
# The log ends this long before now at the latest, clear of the contract's `future` check and of
# every "last hour" and "due soon" window.
END_CLEARANCE: Final = timedelta(minutes=30)
MEDALLIANCE: Final = str(Path(sys.executable).parent / "medalliance")


def simulated_log(
    registry: Registry,
    *,
    seed: int,
    start: datetime,
    duration: timedelta,
    heartbeat_keep: int = HEARTBEAT_KEEP,
) -> list[Published]:
    """The simulator's events as they go on the wire, with most heartbeats thinned out."""
    events = generate(registry, seed=seed, start=start, duration=duration)
    return [_published(event) for event in _thinned(events, heartbeat_keep)]


def fault_log(
    registry: Registry,
    *,
    seed: int,
    messages: int = MIN_MESSAGES,
    entity_events: int = MIN_ENTITY_EVENTS,
    heartbeat_keep: int = HEARTBEAT_KEEP,
) -> list[Published]:
    """The simulated alliance from yesterday morning on, until the log holds `messages` messages of
    which `entity_events` are bed, visit or request events; it ends >= END_CLEARANCE before now."""
    now = datetime.now(UTC)
    start = past_morning(now)
    latest = now - END_CLEARANCE
    log: list[Published] = []
    entities = 0
    last_at = start
    for event in _thinned(
        generate(registry, seed=seed, start=start, duration=latest - start), heartbeat_keep
    ):
        log.append(_published(event))
        entities += event["type"] != "heartbeat"
        last_at = datetime.fromisoformat(event["occurred_at"])
        if len(log) >= messages and entities >= entity_events:
            break
    assert len(log) >= messages and entities >= entity_events, (
        f"the simulator made only {len(log)} messages ({entities} entity events) by {latest}"
    )
    assert last_at <= latest, f"the log reaches {last_at}, less than {END_CLEARANCE} before now"
    return log


def _thinned(events: Iterable[dict[str, Any]], heartbeat_keep: int) -> Iterator[dict[str, Any]]:
    heartbeats = 0
    for event in events:
        if event["type"] == "heartbeat":
            heartbeats += 1
            if heartbeats % heartbeat_keep:
                continue
        yield event


def _published(event: dict[str, Any]) -> Published:
    return Published(feed_of_event(event), message_key(event).encode(), encode(event), None)


def write_ndjson(path: Path, log: list[Published]) -> Path:
    path.write_bytes(b"".join(message.value + b"\n" for message in log))
    return path


def publish_cli(env: dict[str, str], path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MEDALLIANCE, "publish", str(path)],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def publish(settings: Settings, log: Iterable[Published]) -> int:
    """Publish in order, each message to its feed's topic with its key."""
    return produce(settings, ((settings.topic(m.feed), m.key, m.value) for m in log))  # type: ignore[arg-type]


def shuffled_per_entity(log: Sequence[Published], seed: int) -> list[Published]:
    """The log with the events of each key (a facility's feed, a request) in a random order, keeping
    the positions each key occupied: what a publisher with reordering buffers might send.

    One order is kept: a `bed.cancel` stays after the event it cancels. EVENTS.md makes a cancel of
    a not-yet-seen event a no-op, so a correction sent before what it corrects legitimately changes
    the numbers; that case is the contract's, not a reordering the pipeline must absorb."""
    rng = random.Random(seed)
    slots: dict[tuple[str, bytes | None], list[int]] = {}
    for index, message in enumerate(log):
        slots.setdefault((message.feed, message.key), []).append(index)
    result = list(log)
    for indices in slots.values():
        messages = [log[i] for i in indices]
        rng.shuffle(messages)
        for index, message in zip(indices, messages, strict=True):
            result[index] = message
        if log[indices[0]].feed == "beds":
            for index, message in zip(indices, _cancels_after_their_targets(messages), strict=True):
                result[index] = message
    return result


def _cancels_after_their_targets(messages: list[Published]) -> list[Published]:
    """The same messages in the same order, except that each cancel waits for its target."""
    fields = [_ids(message) for message in messages]
    event_ids = {event_id for event_id, _ in fields}
    seen: set[object] = set()
    waiting: dict[object, list[int]] = {}
    ordered: list[Published] = []

    def emit(index: int) -> None:
        ordered.append(messages[index])
        seen.add(fields[index][0])
        for cancel in waiting.pop(fields[index][0], []):
            emit(cancel)

    for index, (_, target) in enumerate(fields):
        if target is not None and target in event_ids and target not in seen:
            waiting.setdefault(target, []).append(index)
        else:
            emit(index)
    return ordered


def _ids(message: Published) -> tuple[object, object]:
    """(event_id, cancelled_event_id) of a message, None where absent or unreadable."""
    try:
        event = orjson.loads(message.value)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(event, dict):
        return None, None
    return event.get("event_id"), event.get("cancelled_event_id")


def expected_now(log: list[Published]) -> Expected:
    return expected_metrics(log, now=datetime.now(UTC))


def settled_mismatches(
    scrape: Callable[[], dict[SampleKey, float]],
    log: list[Published],
    *,
    adjust: Callable[[Expected], Expected] = lambda expected: expected,
) -> tuple[dict[SampleKey, float], list[str]]:
    """A scrape and its `mismatches` with the reference (`adjust`ed), clear of clock boundaries."""
    samples, expected = settled_scrape(scrape, lambda now: expected_metrics(log, now=now))
    return samples, mismatches(samples, adjust(expected))


def resent_duplicates(samples: dict[SampleKey, float], problems: list[str], log: list[Published]) -> float:
    """For a log some of which was sent twice (a publisher's retry, a re-run): assert that nothing
    but the duplicate counter differs from the reference and that every message handled beyond the
    log is such a duplicate; return how many there were."""
    duplicates = sum(total(samples, DUPLICATES).values())
    assert [p for p in problems if not p.startswith(DUPLICATES)] == []
    assert handled_messages(samples) == len(log) + duplicates
    return duplicates


def merged_scrape(workers: Iterable[WorkerProcess]) -> dict[SampleKey, float]:
    """The scrapes of several workers as Prometheus would store them (an `instance` label each)."""
    merged: dict[SampleKey, float] = {}
    for worker in workers:
        for (name, labels), value in worker.scrape().items():
            merged[(name, labels | {("instance", worker.url)})] = value
    return merged


def pseudonyms_of(log: Iterable[Published]) -> set[str]:
    """Every pseudonym in a log: the fields of valid events, and the hostile tests' `pz…` ones anywhere."""
    found: set[str] = set()
    for message in log:
        found |= {match.decode() for match in re.findall(rb"pz[0-9a-f]{14}", message.value)}
        if message.reason is None:
            event = orjson.loads(message.value)
            found |= {event[f] for f in PSEUDONYM_FIELDS if isinstance(event.get(f), str)}
    return found


def leaked_pseudonyms(log: Iterable[Published], worker: WorkerProcess) -> list[str]:
    """Pseudonyms of the log that appear in the worker's /metrics, open-request board or log."""
    exposed = worker.get("/metrics").decode() + worker.get("/api/requests/open").decode()
    exposed += worker.log_path.read_text(errors="replace")
    return sorted(p for p in pseudonyms_of(log) if p in exposed)


def handled(samples: dict[SampleKey, float]) -> float:
    return handled_messages(samples)
