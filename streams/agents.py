"""The thin Faust agents: one per feed, batches of raw messages in, table writes and dead letters out.

    >>> pipeline = build_pipeline(app, settings, registry_ref)   # registers the agents on `app`

No business rule lives here: `streams.domain.pipeline.process_batch` decides everything; this
module moves bytes between Kafka, the Faust tables and the dead-letter topic.
"""

from __future__ import annotations

import base64
import logging
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import faust
import orjson
from faust.streams import _current_event  # Faust routes a table write to the current event's partition
from faust.types import TP

from schemas.events import FEEDS, Feed
from streams.broker import state_table
from streams.codec import CODEC_NAME
from streams.domain.dedupe import Markers
from streams.domain.pipeline import (
    DeadLetter,
    Message,
    Rules,
    expired_keys,
    oldest_marker_day,
    process_batch,
    prune_totals,
    resume_offset,
)
from streams.registry_ref import RegistryRef
from streams.resume import GuardedConsumer
from streams.settings import Settings

logger = logging.getLogger(__name__)
# How often a partition's expired state (old visits, requests, dedupe days) is swept.
_SWEEP_SECONDS: Final = 60.0


@dataclass
class Pipeline:
    """What the agents share with the collector and the web views."""

    app: faust.App
    settings: Settings
    registry: RegistryRef
    tables: dict[Feed, faust.types.TableT]
    topics: dict[Feed, str]
    last_sweep: dict[tuple[Feed, int], float] = field(default_factory=dict)
    # The dedupe index of each partition, rebuilt from its table on first use after any
    # rebalance (the table may then hold what another worker or the changelog put there).
    markers: dict[tuple[Feed, int], Markers] = field(default_factory=dict)

    def partition_markers(self, feed: Feed, partition: int) -> Markers:
        found = self.markers.get((feed, partition))
        if found is None:
            found = Markers.load(TableStore(self.tables[feed]), partition)
            self.markers[(feed, partition)] = found
        return found

    def forget_markers(self, *_: Any, **__: Any) -> None:
        self.markers.clear()

    def next_offset(self, feed: Feed, partition: int) -> int:
        """The first offset of the source partition its state has not applied."""
        return resume_offset(TableStore(self.tables[feed]), partition)

    def resume_positions(self, feed: Feed) -> dict[TP, int]:
        """Where each source partition of `feed` this worker actively owns resumes."""
        topic = self.topics[feed]
        actives = (tp for tp in self.app.assignor.assigned_actives() if tp.topic == topic)
        return {TP(tp.topic, tp.partition): self.next_offset(feed, tp.partition) for tp in actives}

    def rules(self, feed: Feed) -> Rules:
        return Rules(
            feed=feed,
            registry=self.registry.current,
            retention=self.settings.retention,
            zone=self.settings.zone,
        )


class TableStore:
    """The pipeline's StateStore over a Faust table, inside one event's partition context."""

    def __init__(self, table: faust.types.TableT) -> None:
        self._table = table

    def get(self, key: str) -> Any | None:
        return self._table.get(key)

    def set(self, key: str, value: Any) -> None:
        self._table[key] = value

    def delete(self, key: str) -> None:
        self._table.pop(key, None)

    def items(self, prefix: str) -> list[tuple[str, Any]]:
        return [(key, value) for key, value in self._table.items() if key.startswith(prefix)]


@contextmanager
def partition_context(event: faust.types.EventT) -> Iterator[None]:
    """Make `event` the current event, so table reads and writes go to its partition.

    Faust allows table writes only "inside stream iteration"; batches from take_events() are
    outside it, so the batch's own event is set explicitly for the duration of its writes."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def build_pipeline(app: faust.App, settings: Settings, registry: RegistryRef) -> Pipeline:
    tables = {feed: _state_table(app, feed, settings.partitions) for feed in FEEDS}
    pipeline = Pipeline(app, settings, registry, tables, {feed: settings.topic(feed) for feed in FEEDS})
    dead_letter_topic = app.topic(settings.topic_dead_letter, key_serializer="raw", value_serializer="raw")
    for feed in FEEDS:
        _register_agent(pipeline, feed, dead_letter_topic)
        tables[feed].on_recover(_resume_from_state(pipeline, feed))
    app.on_partitions_revoked.connect(pipeline.forget_markers)
    app.on_partitions_assigned.connect(pipeline.forget_markers)
    return pipeline


def _resume_from_state(pipeline: Pipeline, feed: Feed) -> Callable[[], Awaitable[None]]:
    """A table's on-recover callback: Faust calls it once the table is recovered and before it
    resumes the source partitions (streams.resume)."""

    async def resume_from_state() -> None:
        consumer = pipeline.app.consumer
        if isinstance(consumer, GuardedConsumer):
            await consumer.resume_at(pipeline.resume_positions(feed))

    return resume_from_state


def _state_table(app: faust.App, feed: Feed, partitions: int) -> faust.types.TableT:
    table = app.Table(state_table(feed), default=None, partitions=partitions, key_type=str)
    # Faust derives serializers from key/value types; ours are plain JSON data, and orjson is faster.
    table.key_serializer = "json"  # type: ignore[attr-defined]
    table.value_serializer = CODEC_NAME  # type: ignore[attr-defined]
    return table


def _register_agent(pipeline: Pipeline, feed: Feed, dead_letter_topic: faust.TopicT) -> None:
    settings = pipeline.settings
    source = pipeline.app.topic(
        pipeline.topics[feed], key_serializer="raw", value_serializer="raw", partitions=settings.partitions
    )

    async def feed_agent(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.batch_size, within=settings.batch_seconds
        ):
            await handle_batch(pipeline, feed, events, dead_letter_topic)
            yield None

    pipeline.app.agent(source, name=f"medalliance.{feed}-agent")(feed_agent)


async def handle_batch(
    pipeline: Pipeline, feed: Feed, events: Sequence[faust.types.EventT], dead_letter_topic: faust.TopicT
) -> None:
    by_partition: dict[int, list[faust.types.EventT]] = defaultdict(list)
    for event in events:
        by_partition[event.message.partition].append(event)
    table = pipeline.tables[feed]
    rules = pipeline.rules(feed)
    now = datetime.now(UTC)
    for partition, group in by_partition.items():
        messages = [Message(e.message.offset, e.message.value or b"", e.message.key) for e in group]
        markers = pipeline.partition_markers(feed, partition)
        with partition_context(group[-1]):
            try:
                result = process_batch(
                    TableStore(table), rules, partition=partition, messages=messages, now=now, markers=markers
                )
            except BaseException:
                pipeline.markers.pop((feed, partition), None)  # it may hold ids the table never got
                raise
            _maybe_sweep(pipeline, feed, partition, table, rules, now)
        for letter in result.dead_letters:
            await dead_letter_topic.send(
                key=letter.key,
                value=dead_letter_record(letter, feed=feed, topic=pipeline.topics[feed], partition=partition),
            )
        if result.dead_letters:
            logger.info(
                "rejected feed=%s partition=%d count=%d reasons=%s",
                feed,
                partition,
                len(result.dead_letters),
                ",".join(sorted({letter.rejection.reason for letter in result.dead_letters})),
            )


def dead_letter_record(letter: DeadLetter, *, feed: Feed, topic: str, partition: int) -> bytes:
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


def _maybe_sweep(
    pipeline: Pipeline, feed: Feed, partition: int, table: faust.types.TableT, rules: Rules, now: datetime
) -> None:
    """Drop state that left the retention horizon (inside the partition context: deletes are writes)."""
    last = pipeline.last_sweep.get((feed, partition), 0.0)
    if time.monotonic() - last < _SWEEP_SECONDS:
        return
    pipeline.last_sweep[(feed, partition)] = time.monotonic()
    prefix_marker = f"|{partition}|"
    items = [(key, value) for key, value in table.items() if key[1 : len(prefix_marker) + 1] == prefix_marker]
    expired = list(expired_keys(items, rules, now))
    for key in expired:
        table.pop(key, None)
    pipeline.partition_markers(feed, partition).forget_before(oldest_marker_day(rules, now))
    for key, value in items:
        if key[0] == "t" and value is not None and prune_totals(value, rules, now):
            table[key] = value
    if expired:
        logger.info("swept feed=%s partition=%d expired_keys=%d", feed, partition, len(expired))
