"""The test proxy itself: forwards bytes, a cut resets connections and refuses new ones, restore heals."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.support.proxy import TcpProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            while data := self.request.recv(4096):
                self.request.sendall(data)
        except ConnectionResetError:
            pass  # the proxy's cut resets connections: expected


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _roundtrip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        received = b""
        while len(received) < len(payload):
            received += sock.recv(65536)
        return received


def test_forwards_bytes_both_ways(echo_port: int) -> None:
    payload = bytes(range(256)) * 1000
    with TcpProxy(echo_port) as proxy:
        assert _roundtrip(proxy.port, payload) == payload
        assert proxy.connections_accepted == 1


def test_cut_resets_open_connections_and_refuses_new_ones_until_restored(echo_port: int) -> None:
    with TcpProxy(echo_port) as proxy:
        sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
        proxy.cut()
        with pytest.raises(OSError):
            # The reset arrives as an error on the next read or write.
            sock.sendall(b"again")
            if not sock.recv(4):
                raise ConnectionResetError("closed")
        sock.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        proxy.restore()
        assert _roundtrip(proxy.port, b"back") == b"back"
