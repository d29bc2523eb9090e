"""Helpers for promtool unit tests: input series as the worker + Prometheus would store them,
and the expected alert texts, with every number computed here from the input, not by the rules.

    >>> series(BEDS_OCCUPIED, {"facility": "f", "ward": "w"}, [50] * 5 + [57] * 30)
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from schemas.metrics import MetricSpec
from schemas.registry import Facility

WORKER = {"job": "medalliance-worker", "instance": "127.0.0.1:6066"}
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
RULE_FILES = [str(RULES / "medalliance-recording.yml"), str(RULES / "medalliance-alerts.yml")]
BASE_LABELS = {"service": "medalliance"}


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


def percent(ratio: float) -> str:
    """Go's humanizePercentage: humanize(100 * v) + '%' (4 significant digits here)."""
    return f"{ratio * 100:.4g}%"


def minutes_seconds(seconds: float) -> str:
    """Go's humanizeDuration for values under an hour: '4m 51s'."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest}s" if minutes else f"{rest}s"


_VALUE_FORMS: dict[str, Callable[[float], str]] = {
    "{{ $value | humanizePercentage }}": percent,
    '{{ printf "%.0f" $value }}': lambda v: f"{v:.0f}",
    '{{ printf "%.1f" $value }}': lambda v: f"{v:.1f}",
    "{{ $value | humanizeDuration }}": minutes_seconds,
}


def expected_annotations(rule: Mapping[str, Any], labels: Mapping[str, str], value: float) -> dict[str, str]:
    """The rule's annotation templates filled with independently known labels and value."""
    filled = {}
    for key, template in rule["annotations"].items():
        text = template
        for form, render in _VALUE_FORMS.items():
            text = text.replace(form, render(value))
        text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)
        assert "{{" not in text, f"template form not understood by the test: {text}"
        filled[key] = text
    return filled


def alert_rule(name: str) -> dict[str, Any]:
    rules = yaml.safe_load(Path(RULE_FILES[1]).read_text(encoding="utf-8"))["groups"][0]["rules"]
    return next(rule for rule in rules if rule["alert"] == name)


def expected_alert(name: str, labels: Mapping[str, str], value: float) -> dict[str, Any]:
    """exp_labels (the rule's severity labels + the series labels) and exp_annotations."""
    rule = alert_rule(name)
    full = {**labels, **rule["labels"]}
    return {"exp_labels": full, "exp_annotations": expected_annotations(rule, full, value)}


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
    return subprocess.run(
        ["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
