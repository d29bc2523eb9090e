"""The image: its structure, its build context, and its ENTRYPOINT/CMD and HEALTHCHECK run for real.

No container engine runs here, so the image's command line runs in the project's virtualenv with
the environment the Dockerfile sets, against the session's tansu broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.broker import Broker, free_port
from streams.settings import ENV_PREFIX
from tests.conftest import is_tansu
from tests.deploy.dockerfile import dockerignore_excludes, read_dockerfile, read_dockerignore
from tests.deploy.manifests import PROJECT_ROOT, settings_env_names, settings_from_env

DOCKERFILE = read_dockerfile(PROJECT_ROOT / "Dockerfile")
VENV_BIN = Path(sys.executable).parent
_READY_TIMEOUT = 90.0
_STOP_TIMEOUT = 30.0


def test_multi_stage_slim_python_311() -> None:
    assert len(DOCKERFILE.stages) >= 2
    assert {stage.base for stage in DOCKERFILE.stages} == {"python:3.11-slim"}
    copied_from_build = [c for c in DOCKERFILE.final.copies if c[0] == f"--from={DOCKERFILE.stages[0].name}"]
    assert copied_from_build, "the runtime stage copies the built virtualenv from the build stage"
    # The runtime stage copies nothing from the build context: no sources, no tests, no secrets.
    assert all(copy[0].startswith("--from=") for copy in DOCKERFILE.final.copies)


def test_runs_as_a_numeric_non_root_user() -> None:
    user, _, group = (DOCKERFILE.final.user or "").partition(":")
    assert user.isdigit() and int(user) > 0, f"USER {DOCKERFILE.final.user!r}"
    assert not group or (group.isdigit() and int(group) > 0)


def test_entrypoint_and_default_command() -> None:
    assert DOCKERFILE.final.entrypoint == ["medalliance"]
    assert DOCKERFILE.final.cmd == ["worker"]


def test_image_environment_is_settings_only_and_loads() -> None:
    env = DOCKERFILE.final.env
    medalliance = {name: value for name, value in env.items() if name.startswith(ENV_PREFIX)}
    assert set(medalliance) <= settings_env_names()
    settings = settings_from_env(medalliance)
    assert settings.web_host == "0.0.0.0", "a container must listen beyond its loopback"
    assert settings.store == "rocksdb"
    assert DOCKERFILE.final.expose == [str(settings.web_port)]


def test_healthcheck_asks_the_worker_web_port() -> None:
    command = " ".join(DOCKERFILE.final.healthcheck)
    assert "/health" in command and "MEDALLIANCE_WEB_PORT" in command


def test_build_context_holds_what_the_build_copies_and_not_the_rest() -> None:
    patterns = read_dockerignore(PROJECT_ROOT / ".dockerignore")
    sources = [
        part for copy in DOCKERFILE.stages[0].copies for part in copy[:-1] if not part.startswith("--")
    ]
    assert sources, "the build stage copies the project"
    for source in sources:
        assert (PROJECT_ROOT / source).exists(), source
        assert not dockerignore_excludes(patterns, source), f"{source} is excluded from the build context"
    assert not dockerignore_excludes(patterns, "streams/settings.py")
    assert not dockerignore_excludes(patterns, "schemas/yangxi.yaml"), "the shipped registry is runtime data"
    for dropped in (".venv/bin/python", ".git/config", "tests/conftest.py", "streams/__pycache__/cli.pyc"):
        assert dockerignore_excludes(patterns, dropped), f"{dropped} would be sent to the build"


def image_command(argv: list[str]) -> list[str]:
    """The image's argv with its programs taken from this virtualenv (the image has them in /opt)."""
    program = "python" if argv[0] == "python" else argv[0]
    resolved = sys.executable if program == "python" else str(VENV_BIN / program)
    return [resolved, *argv[1:]]


def image_environment(broker: Broker, tmp_path: Path, web_port: int) -> dict[str, str]:
    """The Dockerfile's ENV, with the addresses this machine needs (loopback, free port, temp dir)."""
    prefix = f"img{web_port}"
    env = {**os.environ, **{k: v for k, v in DOCKERFILE.final.env.items() if k != "PATH"}}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "MEDALLIANCE_BROKER_URL": f"kafka://{broker.bootstrap}",
            "MEDALLIANCE_BROKER_IS_TANSU": str(is_tansu(broker)).lower(),
            "MEDALLIANCE_WEB_HOST": "127.0.0.1",  # tests bind loopback only
            "MEDALLIANCE_WEB_PORT": str(web_port),
            "MEDALLIANCE_DATA_DIR": str(tmp_path / "data"),
            "MEDALLIANCE_APP_ID": f"{prefix}-app",
            "MEDALLIANCE_TOPIC_BEDS": f"{prefix}.beds",
            "MEDALLIANCE_TOPIC_VISITS": f"{prefix}.visits",
            "MEDALLIANCE_TOPIC_REQUESTS": f"{prefix}.requests",
            "MEDALLIANCE_TOPIC_DEAD_LETTER": f"{prefix}.dead-letter",
        }
    )
    return env


def healthcheck_passes(env: dict[str, str]) -> bool:
    result = subprocess.run(
        image_command(DOCKERFILE.final.healthcheck), env=env, capture_output=True, timeout=10
    )
    return result.returncode == 0


def stop(process: subprocess.Popen[bytes]) -> int:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
        raise


@pytest.mark.slow
def test_entrypoint_and_cmd_serve_health_on_the_broker(broker: Broker, tmp_path: Path) -> None:
    env = image_environment(broker, tmp_path, free_port())
    assert not healthcheck_passes(env), "the healthcheck must fail while no worker answers"
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            image_command(DOCKERFILE.final.entrypoint + DOCKERFILE.final.cmd),
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + _READY_TIMEOUT
        while not healthcheck_passes(env):
            assert process.poll() is None, (
                f"the worker exited: {log_path.read_text(errors='replace')[-2000:]}"
            )
            assert time.monotonic() < deadline, (
                f"no healthy /health: {log_path.read_text(errors='replace')[-2000:]}"
            )
            time.sleep(1)
        # RocksDB tables live in MEDALLIANCE_DATA_DIR, the image's volume.
        assert any(Path(env["MEDALLIANCE_DATA_DIR"]).rglob("*")), "no table data under MEDALLIANCE_DATA_DIR"
    finally:
        code = stop(process) if process.poll() is None else process.returncode
    assert code in (0, -signal.SIGTERM), f"exit {code}: {log_path.read_text(errors='replace')[-2000:]}"
