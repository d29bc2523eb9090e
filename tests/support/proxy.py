"""A loopback TCP proxy that a test can cut and restore, to simulate a broken broker connection.

    >>> with TcpProxy(target_port=broker.port) as proxy:      # listens on 127.0.0.1:proxy.port
    ...     proxy.cut()        # resets every open connection and refuses new ones
    ...     proxy.restore()    # accepts and forwards again

It runs its own asyncio loop in a daemon thread, so tests and subprocesses (workers, publishers)
talk to it like to any broker. Start the broker advertising the proxy's address
(`KafkaBroker(port, advertised_port=proxy.port, ...)`), or Kafka clients would learn the broker's
real address from the first metadata response and bypass the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Final

from streams.broker import free_port

logger = logging.getLogger(__name__)
_CHUNK: Final = 64 * 1024
_LOOP_TIMEOUT: Final = 10.0


class TcpProxy:
    """127.0.0.1:`port` → 127.0.0.1:`target_port`, byte for byte, until cut."""

    def __init__(self, target_port: int, *, port: int | None = None, target_host: str = "127.0.0.1") -> None:
        self.port = port or free_port()
        self.target_host = target_host
        self.target_port = target_port
        self.connections_accepted = 0
        self.bytes_to_broker = 0  # client → broker bytes forwarded so far (to time a cut)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def is_cut(self) -> bool:
        return self._server is None

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> None:
        """Stop listening and reset every open connection (clients see the broker vanish)."""
        self._call(self._cut())

    def restore(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen())

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._cut())
        self._call(_cancel_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_LOOP_TIMEOUT)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=_LOOP_TIMEOUT)

    def _count_up(self, size: int) -> None:
        self.bytes_to_broker += size

    async def _listen(self) -> None:
        if self._server is None:
            # reuse_address lets the port be bound again right after a cut.
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            _reset(client_writer)
            return
        pair = {client_writer, upstream_writer}
        self._writers |= pair
        try:
            await asyncio.gather(
                _pump(client_reader, upstream_writer, self._count_up), _pump(upstream_reader, client_writer)
            )
        finally:
            for writer in pair:
                self._writers.discard(writer)
                writer.close()


async def _cancel_all() -> None:
    """Finish every connection handler, so that none is destroyed pending with the loop."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: Callable[[int], None] | None = None
) -> None:
    try:
        while chunk := await reader.read(_CHUNK):
            if count is not None:
                count(len(chunk))
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        if not writer.is_closing():
            writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN: a cut cable, not a polite goodbye."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
