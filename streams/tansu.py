"""The embedded broker's quirks that Faust trips on, mended where Faust meets them.

    >>> app = TansuApp("medalliance", broker="kafka://127.0.0.1:9092")   # create_app does this on tansu

tansu answers ListOffsets(LATEST) with the base offset of the partition's last batch + 1, not the
last offset + 1, when that batch holds several records. Faust takes that figure as a changelog's
high water when it recovers a table: with batched changelog writes, recovery stops a few records
early (a value briefly wrong) or refuses to start (ConsistencyError on RocksDB). The Fetch
response's high watermark is right, so the high water Faust asks for is fetched instead: one
fetch from the last listed batch per partition. Table recovery is the only caller, so this costs
one small fetch per changelog partition per rebalance, and lets changelog records be batched
(which Faust's `producer_max_batch_size=1` workaround forbade, at a large cost per record).

tansu also holds a fetch for the consumer's whole `fetch_max_wait_ms` when records arrive during
the wait, and Faust fixes that wait at 1,500 ms: the worker's consumer here waits FETCH_MAX_WAIT_MS.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

import aiokafka
import faust
from faust.transport.drivers.aiokafka import (
    AIOKafkaConsumerThread,
    Consumer,
    Transport,
    credentials_to_aiokafka_auth,
    server_list,
)
from faust.types import TP

# How long to wait for the fetches that reveal the true ends (each is one loopback round trip).
_PROBE_SECONDS: Final = 10.0
# tansu holds a fetch for its whole max wait even when records arrive meanwhile (measured: a
# consumer's latency p50 0.38 s / p90 0.69 s with Faust's fixed 1,500 ms, 3 ms with 100 ms).
# A short wait costs an empty fetch every 0.1 s when idle, nothing on loopback.
FETCH_MAX_WAIT_MS: Final = 100


async def true_end_offsets(listed: Mapping[TP, int], **client: Any) -> dict[TP, int]:
    """The true end offsets of partitions whose ListOffsets(LATEST) answers are `listed`: a probe
    consumer outside any group (aiokafka `client` options: servers, auth) fetches from the last
    offset ListOffsets vouches for and reads the Fetch response's high watermark."""
    ends = {tp: offset for tp, offset in listed.items() if offset is None or offset <= 0}
    pending = [tp for tp in listed if tp not in ends]
    if not pending:
        return ends  # nothing written yet: nothing to correct
    probe = aiokafka.AIOKafkaConsumer(enable_auto_commit=False, **client)
    await probe.start()
    try:
        return ends | await _fetched_ends(probe, listed, pending)
    finally:
        await probe.stop()


async def _fetched_ends(
    probe: aiokafka.AIOKafkaConsumer, listed: Mapping[TP, int], pending: list[TP]
) -> dict[TP, int]:
    # aiokafka accepts only its own TopicPartition (Faust's TP is an equal but other tuple type).
    waiting = {aiokafka.TopicPartition(tp.topic, tp.partition): tp for tp in pending}
    ends: dict[TP, int] = {}
    probe.assign(list(waiting))
    for ours, tp in waiting.items():
        probe.seek(ours, listed[tp] - 1)
    deadline = time.monotonic() + _PROBE_SECONDS
    while waiting and time.monotonic() < deadline:
        await probe.getmany(*waiting, timeout_ms=200)
        for ours, tp in list(waiting.items()):
            highwater = probe.highwater(ours)
            if highwater is not None:
                ends[tp] = max(listed[tp], highwater)
                del waiting[ours]
    if waiting:
        raise TimeoutError(f"no fetch answered for {_names(waiting)} within {_PROBE_SECONDS:.0f} s")
    return ends


def _names(tps: Iterable[TP]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in tps)


class _FetchedHighwaterThread(AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Transport) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Faust passes fetch_max_wait_ms=1500 as a literal; the consumer reads it at start().
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        conf, transport = self.app.conf, self.transport
        return await true_end_offsets(
            await super()._highwaters(partitions),
            bootstrap_servers=server_list(transport.url, transport.default_port),  # type: ignore[attr-defined]
            client_id=f"{conf.broker_client_id}-highwater",
            request_timeout_ms=int(conf.broker_request_timeout * 1000.0),
            **credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context),
        )


class _FetchedHighwaterConsumer(Consumer):
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return _FetchedHighwaterThread(self, loop=self.loop, beacon=self.beacon)


class _TansuTransport(Transport):
    Consumer = _FetchedHighwaterConsumer


class TansuApp(faust.App):
    """A Faust app whose table recovery reads changelog high waters from Fetch, not ListOffsets,
    and whose consumer does not let tansu hold its fetches for 1.5 s."""

    def _new_transport(self) -> Any:
        return _TansuTransport(self.conf.broker_consumer, self)
