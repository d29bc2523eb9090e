"""ManagedProcess: its own session, ready or a one-line error, and no orphan after stop."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import ClassVar

import pytest

from streams.process import ManagedProcess, ProcessError


class Parent(ManagedProcess):
    """A shell that leaves a grandchild running and writes its pid: what an orphan would be."""

    name = "parent"

    def command(self) -> list[str]:
        return ["sh", "-c", f"sleep 300 & echo $! > {self.workdir / 'child.pid'}; wait"]

    def ready(self) -> bool:
        return (self.workdir / "child.pid").exists() and bool(
            (self.workdir / "child.pid").read_text().strip()
        )


class Quitter(ManagedProcess):
    name = "quitter"

    def command(self) -> list[str]:
        return ["sh", "-c", "echo cannot start >&2; exit 3"]

    def ready(self) -> bool:
        return False


class Sluggard(ManagedProcess):
    name = "sluggard"
    start_timeout: ClassVar[float] = 1.0

    def command(self) -> list[str]:
        return ["sleep", "300"]

    def ready(self) -> bool:
        return False


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state != "Z"


def test_stop_leaves_no_process_of_its_group(tmp_path: Path) -> None:
    with Parent(workdir=tmp_path) as parent:
        assert parent.pid is not None and os.getpgid(parent.pid) == parent.pid  # a session of its own
        child = int((tmp_path / "child.pid").read_text())
        assert _running(child)
    deadline = time.monotonic() + 5
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)
    assert not parent.alive()


def test_a_process_that_exits_while_starting_is_one_line_naming_its_log(tmp_path: Path) -> None:
    with pytest.raises(ProcessError) as raised:
        Quitter(workdir=tmp_path).start()
    message = str(raised.value)
    assert "\n" not in message and "exited with 3" in message and str(tmp_path / "quitter.log") in message
    assert "cannot start" in (tmp_path / "quitter.log").read_text()


def test_a_process_never_ready_is_stopped_and_reported(tmp_path: Path) -> None:
    process = Sluggard(workdir=tmp_path)
    with pytest.raises(ProcessError, match="not ready in 1 s"):
        process.start()
    assert not process.alive() and process.pid is None
