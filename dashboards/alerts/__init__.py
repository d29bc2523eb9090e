"""Alerting as code: one catalog -> Prometheus rules, Grafana-managed rules, Alertmanager config.

    >>> files = generated_files(shipped_policy())
    >>> sorted(str(path) for path in files)[0]
    'dashboards/generated/test/alertmanager/alertmanager.yml'

`generated_files()` renders the production profile under deploy/ and the TEST profile (same
alerts, shortened `for:`, windows and Alertmanager timers) under dashboards/generated/test/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from dashboards.alerts.alertmanager import Receivers, alertmanager_config, alertmanager_yaml
from dashboards.alerts.catalog import alerts
from dashboards.alerts.grafana_rules import grafana_alerting_yaml
from dashboards.alerts.model import Alert, Bilingual, RecordingRule
from dashboards.alerts.profile import PRODUCTION, TEST, Profile
from dashboards.alerts.prometheus_rules import (
    ALERTS_FILE,
    RECORDING_FILE,
    RULES_DIR,
    alerting_rules_yaml,
    prometheus_config,
    recording_rules_yaml,
)
from dashboards.alerts.recording import recording_groups
from schemas.policy import Policy

DEPLOY: Final = Path("deploy")
TEST_ROOT: Final = Path("dashboards/generated/test")

__all__ = [
    "ALERTS_FILE",
    "PRODUCTION",
    "RECORDING_FILE",
    "RULES_DIR",
    "TEST",
    "Alert",
    "Bilingual",
    "Profile",
    "Receivers",
    "RecordingRule",
    "alerting_rules_yaml",
    "alertmanager_config",
    "alertmanager_yaml",
    "alerts",
    "files_for",
    "generated_files",
    "grafana_alerting_yaml",
    "prometheus_config",
    "recording_groups",
    "recording_rules_yaml",
    "rule_files",
    "write_rule_files",
]


def rule_files(profile: Profile, policy: Policy) -> dict[Path, str]:
    """The two Prometheus rule files, relative to Prometheus's directory (`rules/...`)."""
    return {
        Path(RULES_DIR) / RECORDING_FILE: recording_rules_yaml(profile, policy),
        Path(RULES_DIR) / ALERTS_FILE: alerting_rules_yaml(profile, policy),
    }


def write_rule_files(directory: Path, profile: Profile, policy: Policy) -> None:
    """Write `rule_files` under a Prometheus working directory (prometheus_config's default rules_dir)."""
    for path, content in rule_files(profile, policy).items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_text(content, encoding="utf-8")


def files_for(profile: Profile, policy: Policy, root: Path) -> dict[Path, str]:
    """The five alerting files of one profile, laid out under `root` as under deploy/."""
    rules = {root / "prometheus" / path: text for path, text in rule_files(profile, policy).items()}
    return {
        **rules,
        root / "prometheus" / "prometheus.yml": prometheus_config(profile),
        root / "grafana" / "provisioning" / "alerting" / "medalliance-alerts.yml": grafana_alerting_yaml(
            profile, policy
        ),
        root / "alertmanager" / "alertmanager.yml": alertmanager_yaml(profile, policy),
    }


def generated_files(policy: Policy) -> dict[Path, str]:
    """Production files under deploy/, the TEST variant under dashboards/generated/test/."""
    return {**files_for(PRODUCTION, policy, DEPLOY), **files_for(TEST, policy, TEST_ROOT)}
