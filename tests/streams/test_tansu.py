"""BROKER.md quirk 1 on the real tansu: ListOffsets is short after a multi-record batch; the fetched
high watermark, which table recovery now uses, is the true end, whatever ListOffsets answered; an
end no fetch reveals is an error, never a guess."""

from __future__ import annotations

import asyncio
import time

import aiokafka
import pytest
from faust.types import TP

from streams.broker import EmbeddedBroker, ensure_topics, free_port
from streams.tansu import ChangelogEndUnknown, true_end_offsets
from tests.conftest import broker_settings


async def _ends(bootstrap: str, topic: str, records: dict[int, int]) -> tuple[dict[TP, int], dict[TP, int]]:
    producer = aiokafka.AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    await producer.start()
    try:
        for partition, count in records.items():
            batch = producer.create_batch()
            for n in range(count):
                batch.append(key=None, value=f"{n}".encode(), timestamp=None)
            await (await producer.send_batch(batch, topic, partition=partition))
    finally:
        await producer.stop()
    tps = [TP(topic, partition) for partition in range(4)]
    lister = aiokafka.AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await lister.start()
    try:
        listed = dict(await lister.end_offsets(tps))
    finally:
        await lister.stop()
    return listed, await true_end_offsets(listed, bootstrap_servers=bootstrap)


def test_fetched_high_water_is_the_true_end_where_list_offsets_is_short(tansu: EmbeddedBroker) -> None:
    broker = tansu
    settings = broker_settings(tansu, f"t{free_port()}-true-end")
    ensure_topics(settings)
    topic = settings.topic("beds")  # created with its partitions (≥ 4), empty
    records = {0: 5, 1: 1, 2: 0, 3: 17}  # one batch each; partition 2 stays empty
    listed, fetched = asyncio.run(_ends(broker.bootstrap, topic, records))
    truth = {TP(topic, partition): count for partition, count in records.items()}
    assert fetched == truth
    # The quirk itself, so this test notices the day tansu is fixed (then the probe is moot).
    assert listed[TP(topic, 0)] == 1 and listed[TP(topic, 3)] == 1


def test_an_end_listed_as_zero_or_unknown_is_fetched_all_the_same(tansu: EmbeddedBroker) -> None:
    """Whatever ListOffsets answers (0, None, -1), the end comes from a fetch: a 0 trusted as
    "empty" would make table recovery restore nothing from a changelog that holds state."""
    settings = broker_settings(tansu, f"t{free_port()}-listed-zero")
    ensure_topics(settings)
    topic = settings.topic("visits")
    records = {0: 5, 1: 1, 2: 0, 3: 17}
    asyncio.run(_ends(tansu.bootstrap, topic, records))
    answers: dict[TP, int | None] = {TP(topic, 0): 0, TP(topic, 1): None, TP(topic, 2): 0, TP(topic, 3): -1}
    fetched = asyncio.run(true_end_offsets(answers, bootstrap_servers=tansu.bootstrap))
    assert fetched == {TP(topic, partition): count for partition, count in records.items()}


def test_an_end_that_cannot_be_fetched_fails_after_retries_with_one_line() -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens: every attempt fails
    began = time.monotonic()
    with pytest.raises(ChangelogEndUnknown) as raised:
        asyncio.run(
            true_end_offsets({TP("medalliance-visits-state-changelog", 4): 0}, bootstrap_servers=nowhere)
        )
    assert time.monotonic() - began < 60
    message = str(raised.value)
    assert "\n" not in message and "medalliance-visits-state-changelog[4]" in message
