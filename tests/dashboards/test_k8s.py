"""dashboards/k8s.py: the PrometheusRule and dashboard ConfigMaps carry exactly the generated files."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from dashboards import k8s
from tests.deploy.manifests import PROJECT_ROOT, one, render_overlay

RULE_FILES = sorted((PROJECT_ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
DASHBOARD_FILES = sorted((PROJECT_ROOT / "dashboards" / "generated").glob("*.json"))
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def groups_on_disk() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in RULE_FILES:
        groups.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    return groups


def committed(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((PROJECT_ROOT / path).read_text(encoding="utf-8")) if doc]


def test_prometheus_rule_carries_exactly_the_rule_files() -> None:
    expected = groups_on_disk()
    assert RULE_FILES and expected, "no generated rule files under deploy/prometheus/rules/"
    (rule,) = committed(k8s.PROMETHEUS_RULE_PATH)
    assert rule["spec"] == {"groups": expected}
    for overlay in ("dev", "prod"):
        assert one(render_overlay(overlay), "PrometheusRule")["spec"] == {"groups": expected}


def test_promtool_accepts_the_prometheus_rule_groups(tmp_path: Path) -> None:
    (rule,) = committed(k8s.PROMETHEUS_RULE_PATH)
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump(rule["spec"], allow_unicode=True), encoding="utf-8")
    result = subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_configmaps_carry_exactly_the_dashboards() -> None:
    expected = {path.name: path.read_text(encoding="utf-8") for path in DASHBOARD_FILES}
    assert expected, "no generated dashboards under dashboards/generated/ (dashboards.boards)"
    configmaps = committed(k8s.DASHBOARDS_PATH)
    carried: dict[str, str] = {}
    for configmap in configmaps:
        assert configmap["kind"] == "ConfigMap"
        metadata = configmap["metadata"]
        assert metadata["labels"]["grafana_dashboard"] == "1"
        assert DNS_1123.match(metadata["name"]), metadata["name"]
        carried.update(configmap["data"])
    assert carried == expected
    assert len({c["metadata"]["name"] for c in configmaps}) == len(configmaps)
    for name, text in carried.items():
        assert isinstance(json.loads(text), dict), name


def test_rule_groups_ignore_other_files_and_the_test_profile() -> None:
    production = "groups:\n- name: a\n  rules:\n  - record: x:y\n    expr: up\n"
    files = {
        Path("deploy/prometheus/rules/b.yml"): production.replace("name: a", "name: b"),
        Path("deploy/prometheus/rules/a.yml"): production,
        Path("dashboards/generated/test/prometheus/rules/a.yml"): production.replace("name: a", "name: test"),
        Path("deploy/prometheus/prometheus.yml"): "global: {}\n",
    }
    assert [group["name"] for group in k8s.rule_groups(files)] == ["a", "b"]


def test_dashboard_text_survives_the_manifest_unchanged() -> None:
    text = json.dumps({"title": '床位 "bed" board', "panels": [{"expr": "sum by (facility) (x)"}]}, indent=2)
    files = {
        Path("dashboards/generated/Beds Board.json"): text + "\n",
        Path("dashboards/generated/test/x.json"): "{}",
    }
    (configmap,) = yaml.safe_load_all(k8s.dump_documents(k8s.dashboard_configmaps(files), source="test"))
    assert configmap["metadata"]["name"] == "medalliance-dashboard-beds-board"
    assert configmap["data"] == {"Beds Board.json": text + "\n"}


def datasource_uids_in(node: Any) -> set[str]:
    """Every datasource uid a dashboard model names (panels, targets, variables)."""
    found: set[str] = set()
    if isinstance(node, dict):
        source = node.get("datasource")
        if (
            isinstance(source, dict)
            and isinstance(source.get("uid"), str)
            and not source["uid"].startswith("$")
        ):
            found.add(source["uid"])
        for value in node.values():
            found |= datasource_uids_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= datasource_uids_in(value)
    return found


def test_the_cluster_datasource_is_the_one_the_dashboards_name() -> None:
    named: set[str] = set()
    for path in DASHBOARD_FILES:
        named |= datasource_uids_in(json.loads(path.read_text(encoding="utf-8")))
    (configmap,) = committed(k8s.DATASOURCE_PATH)
    assert configmap["metadata"]["labels"]["grafana_datasource"] == "1"
    (provisioning,) = configmap["data"].values()
    datasources = yaml.safe_load(provisioning)["datasources"]
    assert named and named <= {source["uid"] for source in datasources}
    prometheus = [source for source in datasources if source["type"] == "prometheus"]
    assert prometheus and all(source["url"] == k8s.CLUSTER_PROMETHEUS_URL for source in prometheus)
    # kube-prometheus-stack's Grafana already has a default datasource; two defaults are refused.
    assert not any(source.get("isDefault") for source in datasources)


def test_overlays_carry_the_dashboards_and_the_datasource() -> None:
    for overlay in ("dev", "prod"):
        documents = render_overlay(overlay)
        labelled = [d for d in documents if d["kind"] == "ConfigMap" and "labels" in d["metadata"]]
        boards = [d for d in labelled if d["metadata"]["labels"].get("grafana_dashboard") == "1"]
        sources = [d for d in labelled if d["metadata"]["labels"].get("grafana_datasource") == "1"]
        assert len(boards) == len(DASHBOARD_FILES) and len(sources) == 1, overlay
