"""Settings: defaults from DOMAIN.md, partial overrides, one readable line for a bad value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streams.settings import SettingsError, load_settings
from tests.support.stack import PROJECT_ROOT


def test_defaults_follow_the_clinical_time_standards() -> None:
    settings = load_settings()
    assert settings.standard_seconds("stroke", "accepted") == 10 * 60
    assert settings.standard_seconds("chest_pain", "arrived") == 60 * 60
    assert settings.standard_seconds("critical_neonatal", "arrived") == 90 * 60
    assert settings.retention.days == 7 and settings.partitions == 8


def test_a_partial_override_keeps_the_other_categories(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDALLIANCE_ACCEPT_STANDARD_MINUTES", '{"stroke": 8}')
    settings = load_settings()
    assert settings.standard_seconds("stroke", "accepted") == 8 * 60
    assert settings.standard_seconds("trauma", "accepted") == 10 * 60


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("MEDALLIANCE_WEB_PORT", "abc", "MEDALLIANCE_WEB_PORT"),
        ("MEDALLIANCE_TIMEZONE", "Mars/Olympus", "MEDALLIANCE_TIMEZONE"),
        ("MEDALLIANCE_PARTITIONS", "0", "MEDALLIANCE_PARTITIONS"),
        ("MEDALLIANCE_ARRIVE_STANDARD_MINUTES", '{"stroke": -1}', "MEDALLIANCE_ARRIVE_STANDARD_MINUTES"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert named in str(error.value) and "\n" not in str(error.value)


def test_the_cli_prints_one_line_and_exits_2_for_a_bad_setting() -> None:
    env = {**os.environ, "MEDALLIANCE_WEB_PORT": "99999"}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "MEDALLIANCE_WEB_PORT" in lines[0] and "Traceback" not in done.stderr.decode()


def test_the_cli_refuses_an_unknown_flag_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker", "--no-such-flag"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert len(done.stderr.decode().strip().splitlines()) == 1
