"""Helpers for promtool unit tests: input series as the worker + Prometheus would store them,
and the expected alerts, with the wording typed in alert_texts.py and every number computed here
from the input, not by the rules.

    >>> series(BEDS_OCCUPIED, {"facility": "f", "ward": "w"}, [50] * 5 + [57] * 30)
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.metrics import MetricSpec
from schemas.registry import Facility
from tests.dashboards.alert_texts import WORDING

WORKER = {"job": "medalliance-worker", "instance": "127.0.0.1:6066"}
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
RULE_FILES = [str(RULES / "medalliance-recording.yml"), str(RULES / "medalliance-alerts.yml")]


def _labels(labels: Mapping[str, str]) -> str:
    return ", ".join(f'{key}="{value}"' for key, value in labels.items())


def series(
    spec: MetricSpec | str, labels: Mapping[str, str], values: Iterable[float | None], *, suffix: str = ""
) -> dict[str, str]:
    """One input series, one value per minute (None = no sample); worker labels added."""
    name = (spec if isinstance(spec, str) else spec.name) + suffix
    sharded = not isinstance(spec, str) and spec.sharded
    full = {**labels, **WORKER, **({"partition": labels.get("partition", "0")} if sharded else {})}
    text = " ".join("_" if value is None else f"{value:g}" for value in values)
    return {"series": f"{name}{{{_labels(full)}}}", "values": text}


def info(facility: Facility, minutes: int = 400) -> dict[str, str]:
    """medalliance_facility_info as the worker exports it, from the registry."""
    labels = {
        "facility": facility.id,
        "name": facility.name,
        "name_en": facility.name_en,
        "level": facility.level,
        "township": facility.township,
    }
    return series("medalliance_facility_info", labels, [1] * minutes)


def names(facility: Facility) -> dict[str, str]:
    """The labels the name join adds to a facility's alert."""
    return {
        "facility": facility.id,
        "name": facility.name,
        "name_en": facility.name_en,
        "level": facility.level,
        "township": facility.township,
    }


def expected_alert(name: str, labels: Mapping[str, str], value: float) -> dict[str, Any]:
    """exp_labels (the alert's severity labels, typed in alert_texts.py, + the series labels) and
    exp_annotations: the wording typed there, filled with independently known labels and value."""
    wording = WORDING[name]
    full = {**labels, **wording.labels()}
    notes = {**wording.filled(full, value), "runbook_url": f"docs/runbooks/{name}.md"}
    return {"exp_labels": full, "exp_annotations": notes}


def boundary(name: str, start: int, for_minutes: int, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Eval just before the `for:` boundary (nothing) and at it (the alerts); minutes from 0."""
    before = start + for_minutes - 1
    at = {"eval_time": f"{start + for_minutes}m", "alertname": name, "exp_alerts": alerts}
    if before < 0:  # a condition true from the first evaluation with no `for:`: there is no "before"
        return [at]
    return [{"eval_time": f"{before}m", "alertname": name, "exp_alerts": []}, at]


def _subset(tmp_path: Path, groups: set[str] | None) -> list[str]:
    """The generated rule files, or copies holding only `groups` (rules unchanged, fewer to evaluate)."""
    if groups is None:
        return RULE_FILES
    paths = []
    for source in RULE_FILES:
        document = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        document["groups"] = [group for group in document["groups"] if group["name"] in groups]
        target = tmp_path / Path(source).name
        target.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
        paths.append(str(target))
    return paths


def run_promtool(
    tmp_path: Path, tests: list[dict[str, Any]], *, groups: set[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` on the generated rules; `groups` limits evaluation for day-long inputs."""
    rule_files = _subset(tmp_path, groups)
    # Groups in file order, recording before alerting, every time (promtool's default order is a map's).
    order = [
        group["name"]
        for path in rule_files
        for group in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["groups"]
    ]
    document = {
        "rule_files": rule_files,
        "evaluation_interval": "1m",
        "group_eval_order": order,
        "tests": tests,
    }
    path = tmp_path / "alerts_test.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = subprocess.run(
        ["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode == 0:
        _record_fired(tests)
    return result


# The alerts a passing promtool run saw fire with their exact labels and texts; a run that failed
# proves nothing and adds none. test_alerts.py reads it (in this process, or in the file that
# FIRED_LEDGER_ENV names when it runs the promtool tests in a child pytest).
FIRED: set[str] = set()
FIRED_LEDGER_ENV = "MEDALLIANCE_TEST_FIRED_LEDGER"
# The items a `-k` or `--deselect` left out (tests/dashboards/conftest.py): were all promtool tests run?
DESELECTED = pytest.StashKey[list[pytest.Item]]()


def _record_fired(tests: list[dict[str, Any]]) -> None:
    fired = {
        check["alertname"]
        for case in tests
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    FIRED.update(fired)
    ledger = os.environ.get(FIRED_LEDGER_ENV)
    if ledger:
        with open(ledger, "a", encoding="utf-8") as out:
            out.writelines(f"{name}\n" for name in sorted(fired))
