"""The bench's own virtualenv (Quix Streams and py-spy never enter the project's) and the machine.

>>> python = ensure_bench_venv()      # bench/.venv/bin/python, created/updated only when needed
>>> machine()                          # {"nproc": 2, "cpu": "AMD EPYC ...", "memory_gib": 23.5, ...}
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any, Final

BENCH_DIR: Final = Path(__file__).resolve().parent
BENCH_VENV: Final = BENCH_DIR / ".venv"
# Pinned like the peer figures of the issue: Quix Streams 3.28 (librdkafka), py-spy to profile.
REQUIREMENTS: Final = ("quixstreams==3.28.*", "py-spy>=0.4,<0.5")
_STAMP: Final = BENCH_VENV / ".requirements"


class SetupError(RuntimeError):
    """The bench environment cannot be set up; the message is one line."""


def bench_python() -> Path:
    return BENCH_VENV / "bin" / "python"


def py_spy() -> Path:
    return BENCH_VENV / "bin" / "py-spy"


def ensure_bench_venv() -> Path:
    """Create bench/.venv and install REQUIREMENTS unless the stamp says they are there (idempotent)."""
    wanted = "\n".join(REQUIREMENTS)
    if bench_python().exists() and _STAMP.exists() and _STAMP.read_text() == wanted:
        return bench_python()
    if not bench_python().exists():
        venv.EnvBuilder(with_pip=True, clear=False).create(BENCH_VENV)
    command = [
        str(bench_python()),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        *REQUIREMENTS,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SetupError(f"cannot install {', '.join(REQUIREMENTS)} into {BENCH_VENV}: {last}")
    _STAMP.write_text(wanted)
    return bench_python()


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
