"""One way to run a child process the project depends on: its own session, a log file, a
readiness check with a deadline, TERM then KILL of its whole process group, no orphan.

    >>> class Echo(ManagedProcess):
    ...     name = "echo"
    ...     def command(self) -> list[str]: return ["sleep", "60"]
    >>> with Echo(workdir=tmp) as running:
    ...     running.pid

A subclass says what to run (`command`), what "ready" means (`ready`, polled until the start
deadline) and what to prepare first (`prepare`). A start that fails stops what it started and
raises ProcessError with one readable line naming the log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Final, Self, TypeVar

logger = logging.getLogger(__name__)
_POLL_SECONDS: Final = 0.1


class ProcessError(RuntimeError):
    """A managed process cannot be started; the message is one readable line."""


class ManagedProcess:
    """A child process in a session of its own, logging to `workdir/<name>.log`."""

    name: str = "process"  # of the log file and in messages; a class's or an instance's own
    start_timeout: ClassVar[float] = 30.0
    stop_timeout: ClassVar[float] = 10.0

    def __init__(self, *, workdir: Path | None = None) -> None:
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"medalliance-{self.name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        raise NotImplementedError

    def cwd(self) -> Path:
        """Where the command runs (its work dir, unless it needs another)."""
        return self.workdir

    def environment(self) -> Mapping[str, str] | None:
        """The child's environment (None: this process's)."""
        return None

    def prepare(self) -> None:
        """What must exist before the command runs (config files, formatted storage)."""

    def ready(self) -> bool:
        """Whether the process serves; polled until `start_timeout`."""
        return True

    def start(self) -> Self:
        self.prepare()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd(),
                env=self.environment(),
                start_new_session=True,  # its own process group: stop() reaches its children
            )
        deadline = time.monotonic() + self.start_timeout
        while not self.ready():
            if not self.alive() or time.monotonic() > deadline:
                exited = self._process.poll()
                self.stop()
                how = (
                    f"exited with {exited}"
                    if exited is not None
                    else f"not ready in {self.start_timeout:g} s"
                )
                raise ProcessError(f"{self.name} {how}; see {self.log_path}")
            time.sleep(_POLL_SECONDS)
        logger.info("%s started pid=%d", self.name, self._process.pid)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal the process group (TERM, then KILL after `stop_timeout`); the exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            _signal_group(process.pid, sig)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=self.stop_timeout)
        _signal_group(process.pid, signal.SIGKILL)  # what the leader left behind in its group
        logger.info("%s stopped code=%s", self.name, process.returncode)
        return process.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(pgid, sig)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """An unused loopback port (for tests and side-by-side runs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def require_free_port(port: int, setting: str) -> None:
    """ProcessError (one line naming the setting that moves it) if `port` is taken on loopback."""
    if not port_is_free("127.0.0.1", port):
        raise ProcessError(f"port {port} is already in use: stop what listens there or set {setting}")


T = TypeVar("T")


# The one way to wait for something: a fixed sleep is a guess about how fast the machine is; a poll
# with a deadline states what is awaited, and fails with that statement when the wait is too long.
def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str | Callable[[], str],
    interval: float = 0.2,
) -> T:
    """The first truthy value `condition` returns; TimeoutError naming `what` after `timeout` s.
    `what` may be a callable, for a message worth computing only on failure (a log tail)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise TimeoutError(f"not within {timeout:g} s: {described}")
        time.sleep(interval)
