"""The embedded broker's quirks that Faust trips on, mended where Faust meets them.

    >>> app = TansuApp("medalliance", broker="kafka://127.0.0.1:9092")   # create_app does this on tansu

tansu answers ListOffsets(LATEST) with the base offset of the partition's last batch + 1, not the
last offset + 1, when that batch holds several records. Faust takes that figure as a changelog's
high water when it recovers a table: with batched changelog writes, recovery stops a few records
early (a value briefly wrong) or refuses to start (ConsistencyError on RocksDB). The Fetch
response's high watermark is right, so the high water Faust asks for is fetched instead: one
fetch per changelog partition per rebalance, whatever ListOffsets answered (0 included: an answer
of 0 trusted as "empty" would make recovery restore nothing from a partition that holds state).
If the fetches cannot establish an end, the worker retries and then stops with one log line
rather than recover from a changelog it cannot see the end of.

tansu also holds a fetch for the consumer's whole `fetch_max_wait_ms` when records arrive during
the wait, and Faust fixes that wait at 1,500 ms: the worker's consumer here waits FETCH_MAX_WAIT_MS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

import aiokafka
from aiokafka.errors import KafkaError
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, credentials_to_aiokafka_auth, server_list
from faust.types import TP

from streams.resume import GuardedApp, GuardedConsumer, GuardedConsumerThread, GuardedTransport

logger = logging.getLogger(__name__)
# How long one round of fetches may take to reveal the true ends (each is one loopback round trip).
_PROBE_SECONDS: Final = 10.0
# Rounds before giving up: a broker that answers no fetch in 30 s is down, not slow.
_PROBE_ATTEMPTS: Final = 3
# tansu holds a fetch for its whole max wait even when records arrive meanwhile (measured: a
# consumer's latency p50 0.38 s / p90 0.69 s with Faust's fixed 1,500 ms, 3 ms with 100 ms).
# A short wait costs an empty fetch every 0.1 s when idle, nothing on loopback.
FETCH_MAX_WAIT_MS: Final = 100


class ChangelogEndUnknown(RuntimeError):
    """The end of a changelog partition cannot be established; the message is one readable line."""


async def true_end_offsets(listed: Mapping[TP, int | None], **client: Any) -> dict[TP, int]:
    """The true end offsets of partitions whose ListOffsets(LATEST) answers are `listed`: a probe
    consumer outside any group (aiokafka `client` options: servers, auth) fetches from the last
    offset ListOffsets vouches for and reads the Fetch response's high watermark. Raises
    ChangelogEndUnknown when _PROBE_ATTEMPTS rounds of fetches leave an end unknown."""
    if not listed:
        return {}
    failure: BaseException | None = None
    for attempt in range(1, _PROBE_ATTEMPTS + 1):
        try:
            return await _probe(listed, client)
        except (KafkaError, OSError, TimeoutError) as exc:
            failure = exc
            logger.warning(
                "changelog end probe failed attempt=%d of=%d error=%s", attempt, _PROBE_ATTEMPTS, exc
            )
    raise ChangelogEndUnknown(
        f"the end of {_names(listed)} could not be fetched in {_PROBE_ATTEMPTS} attempts ({failure})"
    )


async def _probe(listed: Mapping[TP, int | None], client: Mapping[str, Any]) -> dict[TP, int]:
    # earliest: a listed end past the true one makes the fetch out of range; it then starts at 0.
    probe = aiokafka.AIOKafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest", **client)
    await probe.start()
    try:
        return await _fetched_ends(probe, listed)
    finally:
        await probe.stop()


async def _fetched_ends(probe: aiokafka.AIOKafkaConsumer, listed: Mapping[TP, int | None]) -> dict[TP, int]:
    # aiokafka accepts only its own TopicPartition (Faust's TP is an equal but other tuple type).
    waiting = {aiokafka.TopicPartition(tp.topic, tp.partition): tp for tp in listed}
    ends: dict[TP, int] = {}
    probe.assign(list(waiting))
    for ours, tp in waiting.items():
        probe.seek(ours, max(0, (listed[tp] or 0) - 1))
    deadline = time.monotonic() + _PROBE_SECONDS
    while waiting and time.monotonic() < deadline:
        await probe.getmany(*waiting, timeout_ms=200)
        for ours, tp in list(waiting.items()):
            highwater = probe.highwater(ours)
            if highwater is not None:
                ends[tp] = max(listed[tp] or 0, highwater)
                del waiting[ours]
    if waiting:
        raise TimeoutError(f"no fetch answered for {_names(waiting.values())} within {_PROBE_SECONDS:.0f} s")
    return ends


def _names(tps: Iterable[TP], shown: int = 3) -> str:
    """`topic[p]` of the first `shown` partitions and how many more: a log line stays one line."""
    names = sorted(f"{tp.topic}[{tp.partition}]" for tp in tps)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


class _FetchedHighwaterThread(GuardedConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Faust passes fetch_max_wait_ms=1500 as a literal; the consumer reads it at start().
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        conf, transport = self.app.conf, self.transport
        try:
            return await true_end_offsets(
                await super()._highwaters(partitions),
                bootstrap_servers=server_list(transport.url, transport.default_port),  # type: ignore[attr-defined]
                client_id=f"{conf.broker_client_id}-highwater",
                request_timeout_ms=int(conf.broker_request_timeout * 1000.0),
                **credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context),
            )
        except ChangelogEndUnknown as exc:
            logger.error("stopping: table recovery needs changelog ends: %s", exc)
            raise


class _FetchedHighwaterConsumer(GuardedConsumer):
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return _FetchedHighwaterThread(self, loop=self.loop, beacon=self.beacon)


class _TansuTransport(GuardedTransport):
    Consumer = _FetchedHighwaterConsumer


class TansuApp(GuardedApp):
    """A Faust app whose table recovery reads changelog high waters from Fetch, not ListOffsets,
    whose consumer does not let tansu hold its fetches for 1.5 s, and whose sources resume where
    their table state does (streams.resume)."""

    def _new_transport(self) -> Any:
        return _TansuTransport(self.conf.broker_consumer, self)
