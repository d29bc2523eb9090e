"""`medalliance worker` as a child process, waited for by its /health and /metrics: the suite's and
the benchmark's way to run a real worker.

    >>> worker = WorkerProcess(settings, tmp_path).start().wait_ready()
    >>> samples = worker.wait_consumed(total_messages=1)
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from streams.process import ManagedProcess, free_port, wait_until
from streams.settings import Settings

SampleKey = tuple[str, frozenset[tuple[str, str]]]
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def settings_env(settings: Settings) -> dict[str, str]:
    """The MEDALLIANCE_* environment that reproduces `settings` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        secret = getattr(settings, name)
        if hasattr(secret, "get_secret_value"):
            value = secret.get_secret_value()  # model_dump masks secrets as **********
        if value is None:
            continue
        env[f"MEDALLIANCE_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


class WorkerProcess(ManagedProcess):
    """`medalliance worker` as a child process with its own web port and data dir; `start` does not
    wait (`wait_ready` does), and it can be started again after a stop, logging to the same file."""

    stop_timeout = 30.0  # a graceful Faust shutdown commits and closes its tables

    def __init__(
        self, settings: Settings, workdir: Path, *, web_port: int | None = None, name: str = "worker"
    ):
        super().__init__(workdir=workdir)
        self.name = name
        self.web_port = web_port or free_port()
        self.settings = settings.model_copy(
            update={"web_port": self.web_port, "data_dir": workdir / f"{name}-data"}
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "streams.cli", "worker"]

    def cwd(self) -> Path:
        return PROJECT_ROOT

    def environment(self) -> dict[str, str]:
        return {**os.environ, **settings_env(self.settings), "PYTHONUNBUFFERED": "1"}

    def get(self, path: str, timeout: float = 10.0) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            return response.read()  # type: ignore[no-any-return]

    def health(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.get("/health", timeout=2))  # type: ignore[no-any-return]
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            return None

    def wait_ready(self, timeout: float = 90.0, *, partitions: int | None = None) -> WorkerProcess:
        """Until the worker owns `partitions` per feed (default: all) with its tables recovered."""
        wanted = self.settings.partitions if partitions is None else partitions

        def ready() -> bool:
            self._check_alive()
            health = self.health()
            return bool(health and health["status"] == "ok") and all(
                len(owned) >= wanted
                for owned in health["partitions"].values()  # type: ignore[index]
            )

        wait_until(ready, timeout=timeout, interval=0.5, what=lambda: f"worker ready; log: {self.log_tail()}")
        return self

    def scrape(self) -> dict[SampleKey, float]:
        return parse_metrics(self.get("/metrics").decode())

    def wait_consumed(self, total_messages: int, timeout: float = 180.0) -> dict[SampleKey, float]:
        """Scrape until accepted + duplicate + rejected messages add up to `total_messages`."""
        seen = [-1.0]

        def consumed() -> dict[SampleKey, float] | None:
            self._check_alive()
            samples = self.scrape()
            seen[0] = handled_messages(samples)
            return samples if seen[0] >= total_messages else None

        return wait_until(
            consumed,
            timeout=timeout,
            interval=0.5,
            what=lambda: f"consumed {seen[0]} of {total_messages} messages; log: {self.log_tail()}",
        )

    def wait_quiet(self, quiet: float, timeout: float = 60.0) -> dict[SampleKey, float]:
        """A scrape once the handled-message count has not moved for `quiet` seconds."""
        last = (handled_messages(self.scrape()), time.monotonic())

        def settled() -> dict[SampleKey, float] | None:
            nonlocal last
            samples = self.scrape()
            if handled_messages(samples) != last[0]:
                last = (handled_messages(samples), time.monotonic())
                return None
            return samples if time.monotonic() - last[1] >= quiet else None

        what = f"{quiet:g} s without a handled message"
        return wait_until(settled, timeout=timeout, interval=0.5, what=what)

    def _check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"worker exited with {self._process.returncode}; log: {self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def parse_metrics(text: str) -> dict[SampleKey, float]:
    samples: dict[SampleKey, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def handled_messages(samples: dict[SampleKey, float]) -> float:
    names = (
        "medalliance_events_total",
        "medalliance_events_duplicate_total",
        "medalliance_events_rejected_total",
    )
    return sum(value for (name, _), value in samples.items() if name in names)
