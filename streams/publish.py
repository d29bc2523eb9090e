"""Publishing events to the feed topics with the right key (aiokafka, acks=all).

    >>> report = publish_events(settings, events)            # dicts, routed by type
    >>> report = publish_events(settings, [("beds", b"{")])  # raw bytes, as-is, to a feed topic
    >>> report.published, report.rate

A broker that is away — not answering at the start, or failing sends with a retriable error
mid-run (a restart, a cut) — is waited for up to MEDALLIANCE_PUBLISH_DEADLINE_SECONDS, re-sending
with backoff; past that, BrokerError with one readable line. Re-publishing a file is safe: the
worker counts what got through twice as duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, RequestTimedOutError
from aiokafka.helpers import create_ssl_context

from schemas.events import Feed, key_of
from streams.broker import BrokerError, ensure_topics, kafka_client_options
from streams.settings import Settings
from streams.simulate.wire import encode, route

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT: Final = 10.0  # one request's timeout; the whole wait is the publish deadline
_FIRST_BACKOFF: Final = 0.5
_MAX_BACKOFF: Final = 5.0
_LINGER_MS: Final = 5  # a little batching without delaying a live feed noticeably
_MAX_BATCH_BYTES: Final = 256 * 1024
_IN_FLIGHT: Final = 5000  # sends awaited together; bounds memory on big files
_RETRIABLE: Final = (KafkaConnectionError, RequestTimedOutError, KafkaTimeoutError)
Message = tuple[str, bytes | None, bytes]  # topic, key, value


@dataclass
class PublishReport:
    """What was published: counts per topic and per type, and the time it took."""

    by_topic: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def published(self) -> int:
        return sum(self.by_topic.values())

    @property
    def rate(self) -> float:
        return self.published / self.elapsed if self.elapsed > 0 else 0.0


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """streams.broker.kafka_client_options mapped to aiokafka's names (SSL files -> ssl_context)."""
    options = dict(kafka_client_options(settings))
    ssl_files = {name: options.pop(f"ssl_{name}", None) for name in ("cafile", "certfile", "keyfile")}
    if any(ssl_files.values()):
        options["ssl_context"] = create_ssl_context(**{k: v for k, v in ssl_files.items() if v})
    return {key: value for key, value in options.items() if value is not None}


def raw_message(settings: Settings, feed: Feed, value: bytes) -> Message:
    """A message published as-is to a feed topic; keyed like a valid one when its JSON allows."""
    key: str | None = None
    try:
        data = orjson.loads(value)
        if isinstance(data, dict):
            key = key_of(data)
    except orjson.JSONDecodeError:
        pass
    return settings.topic(feed), key.encode() if key is not None else None, value


def event_message(settings: Settings, event: dict[str, Any]) -> Message:
    topic, key = route(event, settings)
    return topic, key.encode(), encode(event)


def broker_reachable(servers: str, timeout: float) -> bool:
    """Whether any bootstrap server accepts a TCP connection within `timeout` (retrying refusals).

    Checked before any Kafka client starts: kafka-python would otherwise retry for ~30 s and
    log a page of connection errors before giving up.
    """
    addresses: list[tuple[str, int]] = []
    for server in servers.split(","):
        host, _, port_text = server.strip().rpartition(":")
        addresses.append((host.strip("[]") or "127.0.0.1", int(port_text)))
    deadline = time.monotonic() + timeout
    while True:
        for host, port in addresses:
            try:
                with socket.create_connection((host, port), timeout=min(2.0, timeout)):
                    return True
            except OSError:
                continue
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def _unreachable(servers: str, seconds: float) -> str:
    return (
        f"no Kafka broker answers at {servers} within {seconds:g} s: start one (`medalliance up`) "
        "or check MEDALLIANCE_BROKER_URL (MEDALLIANCE_PUBLISH_DEADLINE_SECONDS waits longer)"
    )


def _retriable(error: BaseException) -> bool:
    """aiokafka marks the errors a retry can cure (NodeNotReady, NotLeader, timeouts...)."""
    return isinstance(error, _RETRIABLE) or bool(getattr(error, "retriable", False))


def quiet_client_logs() -> None:
    """Kafka clients log every failed reconnect; a CLI user gets one line from us instead."""
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


class Publisher:
    """An aiokafka producer for the feed topics; `async with Publisher(settings) as p: await p.send(...)`."""

    def __init__(self, settings: Settings, *, create_topics: bool = True) -> None:
        self._settings = settings
        self._create_topics = create_topics
        self._producer: AIOKafkaProducer | None = None
        self._pending: list[tuple[asyncio.Future[Any], Message]] = []
        self.report = PublishReport()
        self._started = 0.0

    async def __aenter__(self) -> Publisher:
        servers = self._settings.bootstrap_servers()
        deadline = self._settings.publish_deadline_seconds
        if not await asyncio.to_thread(broker_reachable, servers, deadline):
            raise BrokerError(_unreachable(servers, deadline))
        if self._create_topics:
            # tansu auto-creates 4 partitions on first touch: create the topics properly first.
            await asyncio.to_thread(ensure_topics, self._settings, timeout=CONNECT_TIMEOUT)
        producer = AIOKafkaProducer(
            bootstrap_servers=servers,
            client_id=f"{self._settings.app_id}-publisher",
            acks="all",
            linger_ms=_LINGER_MS,
            max_batch_size=_MAX_BATCH_BYTES,
            request_timeout_ms=int(CONNECT_TIMEOUT * 1000),
            **aiokafka_options(self._settings),
        )
        try:
            await asyncio.wait_for(producer.start(), CONNECT_TIMEOUT)
        except (KafkaError, OSError, TimeoutError):
            await producer.stop()
            raise BrokerError(_unreachable(servers, CONNECT_TIMEOUT)) from None
        self._producer = producer
        self._started = time.monotonic()
        return self

    async def send(self, message: Message, *, event_type: str = "raw") -> None:
        assert self._producer is not None, "use Publisher as an async context manager"
        self._pending.append((await self._sent(message), message))
        self.report.by_type[event_type] += 1
        if len(self._pending) >= _IN_FLIGHT:
            await self.flush()

    async def _sent(self, message: Message) -> asyncio.Future[Any]:
        """The delivery future of `message`; a send refused at once (no metadata while the broker
        is away) is a future that failed, retried like any other."""
        assert self._producer is not None, "use Publisher as an async context manager"
        topic, key, value = message
        try:
            return await self._producer.send(topic, value, key=key)
        except KafkaError as exc:
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            return failed

    async def flush(self) -> None:
        """Wait for every pending send; re-send those that failed transiently, with backoff, until
        the publish deadline (counted from the first failure)."""
        pending, self._pending = self._pending, []
        give_up_at: float | None = None
        pause, attempt = _FIRST_BACKOFF, 0
        while True:
            attempt += 1
            results = await asyncio.gather(*(future for future, _ in pending), return_exceptions=True)
            failed = [
                message
                for (_, message), result in zip(pending, results, strict=True)
                if isinstance(result, BaseException)
            ]
            errors = [result for result in results if isinstance(result, BaseException)]
            for (_, (topic, _key, _value)), result in zip(pending, results, strict=True):
                if not isinstance(result, BaseException):
                    self.report.by_topic[topic] += 1
            if not failed:
                return
            now = time.monotonic()
            give_up_at = give_up_at or now + self._settings.publish_deadline_seconds
            fatal = [error for error in errors if not _retriable(error)]
            if fatal or now >= give_up_at:
                raise BrokerError(
                    f"publishing failed after {attempt} attempts: {(fatal or errors)[0]!r}; "
                    "publishing the file again is safe"
                )
            logger.warning("transient publish failure count=%d attempt=%d; retrying", len(failed), attempt)
            await asyncio.sleep(min(pause, give_up_at - now))
            pause = min(2 * pause, _MAX_BACKOFF)
            pending = [(await self._sent(message), message) for message in failed]

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                await self.flush()
        finally:
            if self._producer is not None:
                await self._producer.stop()
            self.report.elapsed = time.monotonic() - self._started


async def publish_async(
    settings: Settings, items: Iterable[dict[str, Any] | tuple[Feed, bytes]] | AsyncIterable[Any]
) -> PublishReport:
    """Publish event dicts (routed by type) and/or (feed, raw bytes) pairs, in order."""
    async with Publisher(settings) as publisher:
        if isinstance(items, AsyncIterable):
            async for item in items:
                await _send_item(publisher, settings, item)
        else:
            for item in items:
                await _send_item(publisher, settings, item)
    return publisher.report


async def _send_item(publisher: Publisher, settings: Settings, item: Any) -> None:
    if isinstance(item, tuple):
        feed, value = item
        await publisher.send(raw_message(settings, feed, value))
    else:
        await publisher.send(event_message(settings, item), event_type=str(item.get("type")))


def publish_events(
    settings: Settings, events: Iterable[dict[str, Any]] | Iterable[tuple[Feed, bytes]]
) -> PublishReport:
    """Synchronous `publish_async` for tests and scripts (not inside a running event loop)."""
    return asyncio.run(publish_async(settings, events))
