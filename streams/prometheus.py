"""Prometheus and Alertmanager (Debian packages) as plain processes on loopback.

    >>> with PrometheusProcess(config_yaml, port=free_port(), rule_files=[...]) as prom:
    ...     prom.query("up")

Never systemd: each runs with its own temporary storage directory and stops with its
process group.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Final

from streams.broker import BrokerError
from streams.process import ManagedProcess, require_free_port

PROMETHEUS_BINARY: Final = "prometheus"
ALERTMANAGER_BINARY: Final = "prometheus-alertmanager"


class ServiceProcess(ManagedProcess):
    """A Prometheus-family server on 127.0.0.1:`port`, ready when /-/ready answers 200."""

    name = "service"

    def __init__(self, port: int, *, workdir: Path | None = None) -> None:
        super().__init__(workdir=workdir)
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        require_free_port(self.port, f"the {self.name} port")
        binary = self.command()[0]
        if shutil.which(binary) is None:
            raise BrokerError(f"{binary} is not installed: run `make demo` or `make test` to set it up")

    def ready(self) -> bool:
        """/-/ready: both answer 503 on an open port until their storage is loaded."""
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as response:
                return bool(response.status == 200)
        except OSError:  # refused, or HTTPError 503
            return False

    def get_json(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            return json.load(response)


# At least the centers' compliance window (30 days) and a few days' slack, wherever we run Prometheus.
RETENTION: Final = "35d"


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
            # The five centers' compliance is read over 30 days (schemas/policy.yaml): keep 35.
            f"--storage.tsdb.retention.time={RETENTION}",
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
