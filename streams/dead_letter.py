"""Dead letters: read them back from the dead-letter topic, select some, replay them after a fix.

    >>> letters = read_dead_letters(settings)                        # every record, oldest first
    >>> chosen = select(letters, reason="unknown_facility", since=yesterday)
    >>> replay(settings, chosen)                                      # back to their source topics

A replayed original is an ordinary message again: if the fix (a registry change, a publisher fix)
made it valid it is counted once; if it was already accepted, dedupe on `event_id` makes it a
duplicate. A dead letter's facility is read from its original (a registry id or `unknown`); the
original itself and its key may carry pseudonyms and are never printed (see commands/dead_letter).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from schemas.decode import UNKNOWN_FACILITY
from schemas.events import Feed
from schemas.registry import Registry
from streams.broker import BrokerError, kafka_client_options
from streams.domain.pipeline import DeadLetter as Letter
from streams.settings import Settings

logger = logging.getLogger(__name__)
_POLL_MS: Final = 500
_READ_TIMEOUT: Final = 30.0


def dead_letter_record(letter: Letter, *, feed: Feed, topic: str, partition: int) -> bytes:
    """The dead-letter value of EVENTS.md: reason, message, where it came from, and the original."""
    record: dict[str, Any] = {
        "reason": letter.rejection.reason,
        "message": letter.rejection.message,
        "feed": feed,
        "topic": topic,
        "partition": partition,
        "offset": letter.offset,
        "received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    try:
        record["original"] = letter.raw.decode("utf-8")
    except UnicodeDecodeError:
        record["original_base64"] = base64.b64encode(letter.raw).decode("ascii")
    return orjson.dumps(record)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-letter record, as EVENTS.md describes it, plus where it sits in the dead-letter topic."""

    reason: str
    message: str
    feed: str
    topic: str
    partition: int
    offset: int
    received_at: datetime | None
    original: bytes
    key: bytes | None
    facility_id: Any  # the original's facility_id as sent (any JSON value); see facility_label()

    def facility_label(self, registry: Registry) -> str:
        """The registered facility id, else `unknown` (as the rejected-events metric labels it)."""
        value = self.facility_id
        return value if isinstance(value, str) and value in registry.facilities else UNKNOWN_FACILITY


def parse_record(value: bytes, key: bytes | None) -> DeadLetter | None:
    """A dead-letter record from its Kafka value; None if it is not one (logged, never fatal)."""
    try:
        record = orjson.loads(value)
        original = (
            record["original"].encode("utf-8")
            if "original" in record
            else base64.b64decode(record["original_base64"])
        )
        received = record.get("received_at")
        return DeadLetter(
            reason=str(record["reason"]),
            message=str(record.get("message", "")),
            feed=str(record["feed"]),
            topic=str(record["topic"]),
            partition=int(record["partition"]),
            offset=int(record["offset"]),
            received_at=datetime.fromisoformat(received) if isinstance(received, str) else None,
            original=original,
            key=key,
            facility_id=_facility_of(original),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        logger.warning("skipping a dead-letter record that is not in the EVENTS.md format")
        return None


def _facility_of(original: bytes) -> Any:
    try:
        data = orjson.loads(original)
    except orjson.JSONDecodeError:
        return None
    return data.get("facility_id") if isinstance(data, dict) else None


def read_dead_letters(settings: Settings, *, timeout: float = _READ_TIMEOUT) -> list[DeadLetter]:
    """Every record of the dead-letter topic, in (partition, offset) order.

    Reads up to each partition's high watermark as reported by fetch responses (tansu's
    ListOffsets(LATEST) can be one short, ../shared/BROKER.md quirk 1)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers(),
            client_id=f"{settings.app_id}-dead-letter-reader",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **kafka_client_options(settings),
        )
    except KafkaError:
        raise BrokerError(f"no Kafka broker answers at {settings.bootstrap_servers()}") from None
    try:
        partitions = consumer.partitions_for_topic(settings.topic_dead_letter) or set()
        assigned = [TopicPartition(settings.topic_dead_letter, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        return _drain(consumer, assigned, timeout)
    finally:
        consumer.close()


def _drain(consumer: Any, assigned: list[Any], timeout: float) -> list[DeadLetter]:
    letters: list[DeadLetter] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=_POLL_MS).values():
            for record in records:
                letter = parse_record(record.value, record.key)
                if letter is not None:
                    letters.append(letter)
        if all(_caught_up(consumer, tp) for tp in assigned):
            break
    else:
        raise BrokerError(f"could not read the dead-letter topic to its end within {timeout:.0f} s")
    return letters


def _caught_up(consumer: Any, tp: Any) -> bool:
    highwater = consumer.highwater(tp)
    return highwater is not None and consumer.position(tp) >= highwater


def select(
    letters: Iterable[DeadLetter],
    *,
    registry: Registry,
    reason: str | None = None,
    facility: str | None = None,
    since: datetime | None = None,
) -> list[DeadLetter]:
    """The letters matching every given filter (facility: a registry id or `unknown`)."""
    return [
        letter
        for letter in letters
        if (reason is None or letter.reason == reason)
        and (
            facility is None or letter.facility_label(registry) == facility or letter.facility_id == facility
        )
        and (since is None or (letter.received_at is not None and letter.received_at >= since))
    ]


def replay(settings: Settings, letters: Iterable[DeadLetter]) -> int:
    """Send each original back to its source topic with its original key; return how many."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers(),
            client_id=f"{settings.app_id}-dead-letter-replay",
            acks="all",
            **kafka_client_options(settings),
        )
    except KafkaError:
        raise BrokerError(f"no Kafka broker answers at {settings.bootstrap_servers()}") from None
    count = 0
    try:
        futures = [producer.send(letter.topic, key=letter.key, value=letter.original) for letter in letters]
        for future in futures:
            future.get(timeout=_READ_TIMEOUT)
            count += 1
    except KafkaError as exc:
        raise BrokerError(f"replay stopped after {count} messages: {exc}") from None
    finally:
        producer.close(timeout=10)
    logger.info("replayed dead letters count=%d", count)
    return count
