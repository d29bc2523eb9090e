"""Where a worker resumes a source partition: where its table state says, never past it.

    >>> app = GuardedApp("medalliance", broker="kafka://127.0.0.1:9092")  # create_app does this
    >>> await app.consumer.resume_at({TP("medalliance.visits", 4): 1200})  # a table's on_recover

Faust resumes an assigned source partition at the group's committed offset. Here that offset is
only a hint: every partition's state records the last source offset it applied (the feed-wide
totals' `offset`, written last in each batch, streams.domain.pipeline), and a committed offset beyond
it means the state lacks messages the group counts as done. A worker therefore seeks each active
source partition to its state's next offset once its tables are recovered, before Faust resumes
the partition, and keeps it there when Faust then seeks to committed offsets. Processing is
idempotent per offset, so reading again from there repairs a hole and changes nothing else.

Why not trust Faust's seek, as measured on tansu with two workers and a `kill -9` (issue 21,
docs/reliability.md): Faust hands aiokafka the live set of the partitions it wants records from,
and aiokafka reads an empty set as "every partition". The set is empty for a moment after table
recovery (actives paused, standbys and sources not yet resumed), so a fetch in flight then drains
every buffered partition; Faust drops what it did not ask for, with the positions already moved.
Faust's seek to committed offsets puts them back only where an offset was committed (aiokafka
skips the others), so a partition taken over before its first commit stayed at its log end and
was never processed. The fetch view given to aiokafka here is therefore never empty.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Set
from typing import Any, cast

import aiokafka
import faust
from faust.transport.consumer import RecordMap
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer, Transport
from faust.types import TP

logger = logging.getLogger(__name__)


class _AskedPartitions:
    """A live view of the partitions Faust asks records for, never falsy: aiokafka's
    `fetched_records` reads a falsy partition set as "all partitions"."""

    __slots__ = ("_live",)

    def __init__(self, live: Set[TP]) -> None:
        self._live = live

    def __contains__(self, tp: object) -> bool:
        return tp in self._live

    def __bool__(self) -> bool:
        return True


class GuardedConsumerThread(AIOKafkaConsumerThread):
    """Fetches only what Faust asks for, and leaves the partitions resume_at positioned where they
    are when Faust seeks to committed offsets (its bookkeeping then starts from their offsets)."""

    async def _fetch_records(
        self,
        consumer: aiokafka.AIOKafkaConsumer,
        active_partitions: set[TP],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> RecordMap:
        asked = active_partitions if active_partitions is None else _AskedPartitions(active_partitions)
        return await super()._fetch_records(
            consumer, cast(set[TP], asked), timeout=timeout, max_records=max_records
        )

    async def seek_to_committed(self) -> Mapping[TP, int]:
        return await self.call_thread(self._seek_to_committed_or_state)  # type: ignore[no-any-return]

    async def _seek_to_committed_or_state(self) -> Mapping[TP, int]:
        consumer = self._ensure_consumer()
        assigned = consumer.assignment()
        held = {
            aiokafka.TopicPartition(tp.topic, tp.partition): offset
            for tp, offset in cast(GuardedConsumer, self.consumer).state_positions.items()
        }
        held = {tp: offset for tp, offset in held.items() if tp in assigned}
        for tp, offset in held.items():  # already there (resume_at): seeking again would refetch
            _log_resume(tp, offset, await consumer.committed(tp))
        others = [tp for tp in assigned if tp not in held]
        committed = await consumer.seek_to_committed(*others) if others else {}
        return {**committed, **held}


def _log_resume(tp: TP, offset: int, committed: int | None) -> None:
    """A line where the state and the group disagree in a way worth knowing: the state lacks
    messages the group committed (a hole this resume repairs), or nothing was committed for a
    partition that has state. A state ahead of its last commit is the normal aftermath of a crash."""
    if committed is not None and committed > offset:
        logger.warning(
            "resume behind committed topic=%s partition=%d offset=%d committed=%d replay=%d",
            tp.topic, tp.partition, offset, committed, committed - offset,
        )  # fmt: skip
    elif committed is None and offset > 0:
        logger.info(
            "resume at state topic=%s partition=%d offset=%d committed=none", tp.topic, tp.partition, offset
        )


class GuardedConsumer(Consumer):
    """The aiokafka consumer with the guarded thread and the state positions of its sources."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set per generation by resume_at; read by the consumer thread when Faust seeks.
        self.state_positions: dict[TP, int] = {}
        super().__init__(*args, **kwargs)

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return GuardedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def on_partitions_revoked(self, revoked: Set[TP]) -> None:
        # A rebalance starts: positions are valid again only once the new recovery sets them.
        self.state_positions.clear()
        await super().on_partitions_revoked(revoked)

    async def resume_at(self, positions: Mapping[TP, int]) -> None:
        """Seek source partitions to the next offsets their table state expects. Called when the
        tables are recovered and before Faust resumes the partitions, so no record from an older
        position reaches a stream; the seek runs in the consumer's thread, as Faust's own do."""
        if not positions:
            return
        try:
            await cast(GuardedConsumerThread, self._thread).seek_wait(dict(positions))
        except Exception as exc:  # a new rebalance took them away: its recovery seeks again
            logger.warning("resume seek failed partitions=%d error=%s", len(positions), exc)
            return
        self.state_positions.update(positions)


class GuardedTransport(Transport):
    Consumer = GuardedConsumer


class GuardedApp(faust.App):
    """A Faust app whose source partitions resume where their table state does."""

    def _new_transport(self) -> Any:
        return GuardedTransport(self.conf.broker_consumer, self)
