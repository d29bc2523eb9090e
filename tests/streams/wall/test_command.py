"""`medalliance wall`: user errors are one line and exit 2."""

from __future__ import annotations

import socket

import pytest

from streams.broker import free_port
from streams.cli import main


def test_a_bad_prometheus_url_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wall", "--prometheus-url", "prometheus:9090"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--prometheus-url 'prometheus:9090' is not an http(s) URL" in err


def test_a_busy_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["wall", "--port", str(port), "--prometheus-url", f"http://127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err
