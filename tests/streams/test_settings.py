"""Settings: defaults, the policy file they name, one readable line for a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.settings import SettingsError, load_settings
from tests.support.stack import PROJECT_ROOT


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.retention.days == 7 and settings.partitions == 8
    assert settings.policy.requests.accept_minutes["stroke"] == 10  # the shipped policy (DOMAIN.md)


def test_the_policy_comes_from_the_file_the_setting_names(tmp_path: Path) -> None:
    site = tmp_path / "site-policy.yaml"
    text = (PROJECT_ROOT / "schemas" / "policy.yaml").read_text(encoding="utf-8")
    site.write_text(text.replace("due_soon_share: 0.8", "due_soon_share: 0.75"), encoding="utf-8")
    settings = load_settings(policy_path=site)
    assert settings.policy.requests.due_soon_share == 0.75
    assert settings.policy.hash != load_settings().policy.hash


def test_a_bad_policy_file_is_one_line_naming_file_field_and_variable(tmp_path: Path) -> None:
    site = tmp_path / "site-policy.yaml"
    text = (PROJECT_ROOT / "schemas" / "policy.yaml").read_text(encoding="utf-8")
    site.write_text(text.replace("stroke: 10,", "stroke: -1,", 1), encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings(policy_path=site)
    message = str(error.value)
    assert "\n" not in message
    assert str(site) in message and "requests.accept_minutes.stroke" in message
    assert "MEDALLIANCE_POLICY_PATH" in message
    with pytest.raises(SettingsError, match="cannot read policy"):
        load_settings(policy_path=tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("MEDALLIANCE_WEB_PORT", "abc", "MEDALLIANCE_WEB_PORT"),
        ("MEDALLIANCE_TIMEZONE", "Mars/Olympus", "MEDALLIANCE_TIMEZONE"),
        ("MEDALLIANCE_PARTITIONS", "0", "MEDALLIANCE_PARTITIONS"),
        ("MEDALLIANCE_POLICY_PATH", "/no/such/policy.yaml", "MEDALLIANCE_POLICY_PATH"),
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
