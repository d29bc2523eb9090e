"""The thin Faust agents: one per feed, batches of raw messages in, table writes and dead letters out.

    >>> pipeline = build_pipeline(app, settings, registry_ref)   # registers the agents on `app`

No business rule lives here: `streams.domain.pipeline.process_batch` decides everything; this
module moves bytes between Kafka, the Faust tables and the dead-letter topic.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final, NoReturn

import faust

from schemas.events import FEEDS, Feed
from streams.broker import state_table
from streams.codec import CODEC_NAME
from streams.dead_letter import dead_letter_record
from streams.domain.pipeline import Message, process_batch
from streams.domain.state import StateVersionError
from streams.registry_ref import RegistryRef
from streams.resume import GuardedConsumer
from streams.runtime import Pipeline, TableStore, partition_context
from streams.settings import Settings
from streams.sweep import maybe_sweep

logger = logging.getLogger(__name__)
# The worker's exit status when it refuses state of a newer format (2 is a usage error).
EXIT_REFUSED: Final = 3


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
        try:
            positions = pipeline.resume_positions(feed)  # reads each partition's feed-wide totals
        except StateVersionError as exc:
            refuse(exc)
        if isinstance(consumer, GuardedConsumer):
            await consumer.resume_at(positions)

    return resume_from_state


def refuse(exc: StateVersionError) -> NoReturn:
    """Stop at once with one line: state of a newer format must be neither read nor overwritten.

    Not an exception for Faust to handle: it would restart the agent into the same refusal, with a
    traceback each time. Stopping abruptly is what the state is built to survive (kill -9)."""
    logger.critical("refusing the table state: %s", exc)
    logging.shutdown()
    os._exit(EXIT_REFUSED)


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
            try:
                await handle_batch(pipeline, feed, events, dead_letter_topic)
            except StateVersionError as exc:
                refuse(exc)
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
            maybe_sweep(pipeline, feed, partition, rules=rules, now=now)
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
