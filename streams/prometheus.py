"""Prometheus and Alertmanager (Debian packages) as plain processes on loopback.

    >>> with PrometheusProcess(config_yaml, port=free_port(), rule_files=[...]) as prom:
    ...     prom.query("up")

Never systemd: each runs with its own temporary storage directory and stops with its
process group.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from streams.broker import BrokerError, port_is_free, wait_for_port

logger = logging.getLogger(__name__)
_START_TIMEOUT: Final = 30.0
PROMETHEUS_BINARY: Final = "prometheus"
ALERTMANAGER_BINARY: Final = "prometheus-alertmanager"


class ServiceProcess:
    """A child process on 127.0.0.1:`port` with a temporary working directory."""

    name = "service"

    def __init__(self, port: int, *, workdir: Path | None = None) -> None:
        self.port = port
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"medalliance-{self.name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> Self:
        if not port_is_free("127.0.0.1", self.port):
            raise BrokerError(f"port {self.port} for {self.name} is already in use: choose another port")
        binary = self.command()[0]
        if shutil.which(binary) is None:
            raise BrokerError(f"{binary} is not installed: run `make demo` or `make test` to set it up")
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True
            )
        if not wait_for_port("127.0.0.1", self.port, _START_TIMEOUT) or not self._ready(_START_TIMEOUT):
            self.stop()
            raise BrokerError(f"{self.name} did not start on port {self.port}; see {self.log_path}")
        logger.info("%s started url=%s pid=%d", self.name, self.url, self._process.pid)
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def _ready(self, timeout: float) -> bool:
        """Wait for /-/ready: both answer 503 on an open port until their storage is loaded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as response:
                    if response.status == 200:
                        return True
            except OSError:  # HTTPError 503 included
                pass
            time.sleep(0.1)
        return False

    def get_json(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            return json.load(response)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class PrometheusProcess(ServiceProcess):
    """Prometheus with `config_yaml` written to its work dir (rule paths relative to it or absolute)."""

    name = "prometheus"

    def __init__(self, config_yaml: str, port: int, *, workdir: Path | None = None) -> None:
        super().__init__(port, workdir=workdir)
        (self.workdir / "prometheus.yml").write_text(config_yaml, encoding="utf-8")

    def command(self) -> list[str]:
        return [
            PROMETHEUS_BINARY,
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; returns the result vector, raising on a PromQL error."""
        params = {"query": expr} if at is None else {"query": expr, "time": str(at)}
        body = self.get_json("/api/v1/query", **params)
        if body.get("status") != "success":
            raise RuntimeError(f"query failed: {expr}: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expr: str, timeout: float = 60.0, interval: float = 0.5) -> list[dict[str, Any]]:
        """Poll until `expr` returns a non-empty result."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(interval)


class AlertmanagerProcess(ServiceProcess):
    name = "alertmanager"

    def __init__(self, config_yaml: str, port: int, *, workdir: Path | None = None) -> None:
        super().__init__(port, workdir=workdir)
        (self.workdir / "alertmanager.yml").write_text(config_yaml, encoding="utf-8")

    def command(self) -> list[str]:
        return [
            ALERTMANAGER_BINARY,
            f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # no gossip port on 0.0.0.0
            "--log.level=warn",
        ]
