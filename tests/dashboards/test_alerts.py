"""The generated alerting files: valid for the real tools, complete, consistent, from one catalog."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.alerts import PRODUCTION, TEST, alerts, generated_files, prometheus_config
from schemas.metrics import sample_names
from schemas.policy import shipped_policy
from streams.broker import free_port
from streams.prometheus import PrometheusProcess
from tests.dashboards.alert_series import DESELECTED, FIRED, FIRED_LEDGER_ENV

POLICY = shipped_policy()

ROOT = Path(__file__).resolve().parents[2]
PROFILES = {"production": Path("deploy"), "test": Path("dashboards/generated/test")}
RULES = "prometheus/rules"
DURATION = r"\d+[smhd](?:\d+[smhd])*"


def load(relative: Path) -> Any:
    return yaml.safe_load((ROOT / relative).read_text(encoding="utf-8"))


def alert_rules(root: Path) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = load(root / RULES / "medalliance-alerts.yml")["groups"][0]["rules"]
    return rules


def recording_rules(root: Path) -> list[dict[str, Any]]:
    groups = load(root / RULES / "medalliance-recording.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def grafana_rules(root: Path) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = load(root / "grafana/provisioning/alerting/medalliance-alerts.yml")[
        "groups"
    ][0]["rules"]
    return rules


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)


def test_generation_is_deterministic_and_committed() -> None:
    first, second = generated_files(POLICY), generated_files(POLICY)
    assert first == second
    for path, content in first.items():
        assert (ROOT / path).read_text(encoding="utf-8") == content, (
            f"{path} is stale: run medalliance generate"
        )


@pytest.mark.parametrize("root", PROFILES.values(), ids=PROFILES.keys())
def test_promtool_and_amtool_accept_the_files(root: Path) -> None:
    for command in (
        ("promtool", "check", "rules", str(root / RULES / "medalliance-recording.yml")),
        ("promtool", "check", "rules", str(root / RULES / "medalliance-alerts.yml")),
        ("promtool", "check", "config", str(root / "prometheus/prometheus.yml")),
        ("amtool", "check-config", str(root / "alertmanager/alertmanager.yml")),
    ):
        result = run(*command)
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"


def test_the_issue_alerts_exist() -> None:
    required = {
        "WardOccupancyHigh", "FacilityOverCapacity", "CountyBedRunwayShort", "EDSurge", "EDOverCapacity",
        "EDLongStays", "EDLeftWithoutBeingSeenHigh", "RequestDueSoon", "RequestOverdue", "FeedStaleHospital",
        "FeedStaleVillageClinic", "RejectedEventsHigh", "PipelineDelayHigh", "WorkerDown", "Watchdog",
    }  # fmt: skip
    assert required <= {rule["alert"] for rule in alert_rules(PROFILES["production"])}


@pytest.mark.parametrize("rule", alert_rules(PROFILES["production"]), ids=lambda rule: rule["alert"])
def test_every_alert_is_labelled_bilingual_and_has_a_runbook(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"page", "ticket"}
    notes = rule["annotations"]
    for key in ("summary", "description"):
        assert notes[key].strip() and notes[f"{key}_zh"].strip()
        assert re.search(r"[\u4e00-\u9fff]", notes[f"{key}_zh"]), f"{key}_zh has no Chinese"
        assert not re.search(r"[\u4e00-\u9fff]", notes[key]), f"{key} should be English"
    assert notes["runbook_url"].endswith(f"docs/runbooks/{rule['alert']}.md")
    runbook = ROOT / "docs/runbooks" / f"{rule['alert']}.md"
    text = runbook.read_text(encoding="utf-8")
    for section in ("## What it means", "## What to check", "## What to do"):
        assert section in text, f"{runbook} lacks {section}"
    if "facility" in rule["expr"] and "medalliance_facility_info" in rule["expr"]:
        # A facility alert names the facility in both languages, not only its id.
        assert "$labels.name }}" in notes["summary_zh"] and "$labels.name_en }}" in notes["summary"]


PROMTOOL_TESTS = sorted((ROOT / "tests/dashboards").glob("test_alerts_promtool*.py"))


def fired_in_promtool_runs(session: pytest.Session, tmp_path: Path) -> set[str]:
    """The alerts passing promtool runs saw fire: this session's, when it ran every promtool test,
    else those of a child pytest running them (so the check holds whatever was selected)."""
    promtool_files = {path.name for path in PROMTOOL_TESTS}
    selected = {item.path.name for item in session.items}
    left_out = {item.path.name for item in session.config.stash.get(DESELECTED, [])}
    if promtool_files <= selected and not promtool_files & left_out:
        return set(FIRED)
    ledger = tmp_path / "fired.txt"
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, PROMTOOL_TESTS)],
        cwd=ROOT, env={**os.environ, FIRED_LEDGER_ENV: str(ledger)},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stdout[-3000:]
    return set(ledger.read_text(encoding="utf-8").split())


@pytest.mark.after_promtool
def test_every_alert_fires_in_a_passing_promtool_test(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Checked from what promtool executed, not from the test files' text."""
    fired = fired_in_promtool_runs(request.session, tmp_path)
    assert [rule["alert"] for rule in alert_rules(PROFILES["production"]) if rule["alert"] not in fired] == []


def _referenced_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    return set(re.findall(r"\b(medalliance[_:][A-Za-z0-9_:]*|up)\b(?!\s*\()", without_strings))


@pytest.mark.parametrize("root", PROFILES.values(), ids=PROFILES.keys())
def test_every_metric_referenced_exists(root: Path) -> None:
    recorded = {rule["record"] for rule in recording_rules(root)}
    exprs = [rule["expr"] for rule in recording_rules(root) + alert_rules(root)]
    exprs += [rule["data"][0]["model"]["expr"] for rule in grafana_rules(root)]
    unknown = set().union(*map(_referenced_names, exprs)) - sample_names() - recorded - {"up"}
    assert not unknown
    assert {"medalliance:escalation_level:facility", "medalliance:escalation_level:alliance",
            "medalliance:occupancy_ratio:facility", "medalliance:occupancy_ratio:county",
            "medalliance:bed_runway_hours:county"} <= recorded  # fmt: skip


@pytest.mark.parametrize("root", PROFILES.values(), ids=PROFILES.keys())
def test_grafana_rules_mirror_the_prometheus_rules(root: Path) -> None:
    prometheus = {rule["alert"]: rule for rule in alert_rules(root)}
    grafana = grafana_rules(root)
    assert [rule["title"] for rule in grafana] == list(prometheus)
    assert len({rule["uid"] for rule in grafana}) == len(grafana)
    for rule in grafana:
        source = prometheus[rule["title"]]
        query = rule["data"][0]
        assert query["datasourceUid"] == "medalliance-prometheus"
        assert query["model"]["expr"] == source["expr"]
        assert rule["for"] == source["for"] and rule["labels"] == source["labels"]
        assert rule["annotations"]["runbook_url"] == source["annotations"]["runbook_url"]
        assert "$value " not in "".join(rule["annotations"].values())  # Grafana's $value is not a number


def _without_durations(expr: str) -> str:
    return re.sub(rf"\[{DURATION}\]|offset {DURATION}", "<d>", expr)


def test_test_variant_differs_only_in_durations() -> None:
    production, test = alert_rules(PROFILES["production"]), alert_rules(PROFILES["test"])
    assert [r["alert"] for r in production] == [r["alert"] for r in test]
    for prod, short in zip(production, test, strict=True):
        assert _without_durations(prod["expr"]) == _without_durations(short["expr"])
        assert (prod["labels"], prod["annotations"]) == (short["labels"], short["annotations"])
    prod_rec, test_rec = recording_rules(PROFILES["production"]), recording_rules(PROFILES["test"])
    assert [_without_durations(r["expr"]) for r in prod_rec] == [
        _without_durations(r["expr"]) for r in test_rec
    ]
    assert [a.for_ for a in alerts(TEST, POLICY)] != [a.for_ for a in alerts(PRODUCTION, POLICY)]


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=RequestOverdue", "severity=page", "facility=yx-ch-people"], "page"),
        (["alertname=FeedStaleVillageClinic", "severity=ticket", "facility=yx-vc-zhigong-01"], "ticket"),
        (["alertname=Watchdog", "severity=ticket"], "watchdog"),
        (["alertname=Something"], "ticket"),
    ],
)
def test_alertmanager_routes_by_severity(labels: list[str], receiver: str) -> None:
    config = str(PROFILES["production"] / "alertmanager/alertmanager.yml")
    result = run("amtool", "config", "routes", "test", f"--config.file={config}", *labels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receiver


def test_alertmanager_groups_and_inhibits() -> None:
    config = load(PROFILES["production"] / "alertmanager/alertmanager.yml")
    assert config["route"]["group_by"] == ["alertname", "facility"]
    inhibit = {
        (tuple(r["source_matchers"]), tuple(r["target_matchers"])): r.get("equal")
        for r in config["inhibit_rules"]
    }
    stale = ('alertname="WorkerDown"',), ('alertname=~"FeedStaleHospital|FeedStaleVillageClinic"',)
    assert stale in inhibit and inhibit[stale] is None  # any worker down: every stale feed is suspect
    overdue = ('alertname="RequestOverdue"',), ('alertname=~"RequestDueSoon"',)
    assert inhibit[overdue] == ["facility", "category", "stage"]


def test_every_grafana_expression_runs_on_a_real_prometheus(tmp_path: Path) -> None:
    config = prometheus_config(TEST, workers=[], alertmanagers=[], rules_dir=None)
    with PrometheusProcess(config, port=free_port(), workdir=tmp_path) as prometheus:
        assert isinstance(prometheus, PrometheusProcess)
        for rule in grafana_rules(PROFILES["production"]):
            prometheus.query(rule["data"][0]["model"]["expr"])  # raises on a PromQL error
