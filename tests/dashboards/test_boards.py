"""The generated dashboards: deterministic, unique ids, every query valid PromQL over known metrics,
stale numbers drawn grey, the wall fitting one 1080p screen."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.boards import FACILITY_UID, OVERVIEW_UID, dashboard_models, generated_files
from schemas.metrics import sample_names
from schemas.policy import shipped_policy
from tests.support.stack import PROJECT_ROOT

POLICY = shipped_policy()

DATASOURCE_UID = "medalliance-prometheus"
RULES_DIR = PROJECT_ROOT / "deploy/prometheus/rules"
PROMETHEUS_OWN = {"up"}
# What Grafana substitutes before a query reaches Prometheus (values typical of the wall).
MACROS = {"$__rate_interval": "1m", "$__range": "1h", "$facility": "yx-ch-people"}
WALL_ROWS = 27  # 27 grid rows of 30 px plus margins fit a 1080-pixel kiosk screen
GRID_COLUMNS = 24
STALE_GREY = "#8e8e8e"
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "inf", "nan",
}  # fmt: skip


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in model["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def all_targets() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expr) for every target of every dashboard."""
    return [
        (uid, panel["title"], target["expr"])
        for uid, model in dashboard_models(POLICY).items()
        for panel in panels(model)
        for target in panel.get("targets", [])
    ]


def substitute(expr: str) -> str:
    for macro, value in MACROS.items():
        expr = expr.replace(macro, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects: identifiers outside strings, matchers, label lists, ranges."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery windows
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        word = match.group(0)
        if following.startswith("(") or word.lower() in PROMQL_WORDS:
            continue  # a function or aggregation, or a keyword
        if match.start() > 0 and (text[match.start() - 1].isdigit() or text[match.start() - 1] == "."):
            continue  # the 'e' of 1e3, a unit suffix
        names.add(word)
    return names


def recorded_names() -> set[str]:
    names: set[str] = set()
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            names.update(rule["record"] for rule in group["rules"] if "record" in rule)
    return names


def test_generation_is_deterministic_sorted_and_newline_terminated() -> None:
    first, second = generated_files(POLICY), generated_files(POLICY)
    assert first == second
    for path, text in first.items():
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        if path.suffix == ".json":
            assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_committed_files_match_generation() -> None:
    stale = [
        str(p) for p, text in generated_files(POLICY).items() if (PROJECT_ROOT / p).read_text("utf-8") != text
    ]
    assert not stale, f"run `medalliance generate`: {stale}"


def test_uids_are_derived_from_names_and_unique() -> None:
    models = dashboard_models(POLICY)
    assert len(models) == 5
    for uid, model in models.items():
        english = model["title"].split(" / ", 1)[1]
        derived = "medalliance-" + re.sub(r"[^a-z0-9]+", "-", english.lower()).strip("-")
        while len(derived) > 40:  # Grafana's limit: whole words dropped from the end
            derived = derived.rsplit("-", 1)[0]
        assert uid == derived
        assert model["uid"] == uid and len(uid) <= 40
        assert re.search(r"[\u4e00-\u9fff]", model["title"]), "Chinese title first"
    files = generated_files(POLICY)
    assert {p.name for p in files if p.suffix == ".json"} == {f"{uid}.json" for uid in models}


def test_panel_ids_unique_and_titles_bilingual() -> None:
    for uid, model in dashboard_models(POLICY).items():
        ids = [panel["id"] for panel in panels(model)]
        assert len(ids) == len(set(ids)), uid
        for panel in panels(model):
            zh, _, en = panel["title"].partition(" / ")
            assert re.search(r"[\u4e00-\u9fff]", zh) and re.search(r"[A-Za-z]", en), panel["title"]


def test_every_target_reads_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        generated_files(POLICY)[Path("deploy/grafana/provisioning/datasources/prometheus.yml")]
    )
    assert [source["uid"] for source in provisioned["datasources"]] == [DATASOURCE_UID]
    for model in dashboard_models(POLICY).values():
        for panel in panels(model):
            assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] == DATASOURCE_UID, panel["title"]


def test_metric_name_extraction_can_fail() -> None:
    expr = 'sum without (instance, partition) (rate(medalliance_nope_total{feed="beds"}[5m])) > bool 1e3'
    assert metric_names(expr) == {"medalliance_nope_total"}
    assert metric_names('a:b:c * on (facility) group_left (name) x{y="z"}') == {"a:b:c", "x"}


def test_every_metric_a_query_references_exists() -> None:
    known = sample_names() | recorded_names() | PROMETHEUS_OWN
    assert "medalliance:escalation_level:facility" in known, "recording rules not generated yet"
    unknown = {
        (uid, title, name)
        for uid, title, expr in all_targets()
        for name in metric_names(substitute(expr))
        if name not in known
    }
    assert not unknown


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each expression (macros substituted) as a recording rule."""
    exprs = [substitute(expr) for _, _, expr in all_targets()]
    rules = [{"record": f"dashboard:query_{index}", "expr": expr} for index, expr in enumerate(exprs)]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8")
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_sharded_metrics_are_never_read_raw() -> None:
    """Every sharded series name sits inside an aggregation (sum/max/...), never shown per partition."""
    from schemas.metrics import CATALOG

    sharded = {name for spec in CATALOG if spec.sharded for name in spec.sample_names}
    for uid, title, expr in all_targets():
        for name in metric_names(substitute(expr)) & sharded:
            before = expr[: expr.index(name)]
            assert re.search(
                r"\b(sum|max|min|count)\s+(by|without)\s*\([^)]*\)\s*\((rate|increase)?\(?$", before
            ), (
                uid,
                title,
                expr,
            )


def test_overview_fits_one_wall_screen_without_overlaps() -> None:
    model = dashboard_models(POLICY)[OVERVIEW_UID]
    assert model["refresh"] == "10s"
    occupied: set[tuple[int, int]] = set()
    for panel in panels(model):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_COLUMNS and grid["y"] + grid["h"] <= WALL_ROWS, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, panel["title"]
        occupied |= cells
    assert not any(panel["type"] == "row" for panel in panels(model)), "no collapsed rows on a wall"


@pytest.mark.parametrize(
    "title_start",
    [
        "县级医院床位使用率",
        "全县空余床位",
        "医共体应急级别",
        "床位余量",
        "今日门急诊人次",
        "各院应急级别",
        "急诊在院患者",
    ],
)
def test_wall_numbers_turn_grey_when_their_feed_is_stale(title_start: str) -> None:
    """Each live figure has a stale twin (B), drawn in fixed grey. What the two queries return, the
    current part and the stale part of one figure, is checked on a real Prometheus with a silent
    feed (tests/dashboards/test_boards_data.py, check_stale_twins), not from their spelling."""
    overview = panels(dashboard_models(POLICY)[OVERVIEW_UID])
    panel = next(p for p in overview if p["title"].startswith(title_start))
    targets = {target["refId"]: target for target in panel["targets"]}
    assert {"A", "B"} <= set(targets)
    assert "停更 stale" in targets["B"]["legendFormat"]
    override = next(o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == "B")
    values = {prop["id"]: prop["value"] for prop in override["properties"]}
    assert values["color"] == {"mode": "fixed", "fixedColor": STALE_GREY}
    assert [step["color"] for step in values["thresholds"]["steps"]] == [STALE_GREY]


def test_county_figures_show_their_data_age() -> None:
    model = dashboard_models(POLICY)[OVERVIEW_UID]
    for panel in panels(model):
        if panel["title"].startswith(("全县空余床位", "今日门急诊人次", "急诊在院患者", "床位余量")):
            age = next(t for t in panel["targets"] if t["refId"] == "C")
            assert age["expr"].startswith("time() - min(") and age["legendFormat"] == "数据龄 data age"


def test_facility_variable_lists_the_registry_by_name() -> None:
    model = dashboard_models(POLICY)[FACILITY_UID]
    (variable,) = model["templating"]["list"]
    assert variable["name"] == "facility" and "medalliance_facility_info" in variable["query"]
    # Grafana applies the regex to query_result rows like this one (labels sorted by name).
    row = (
        '{facility="yx-ch-people", job="w", level="county_hospital", '
        'name="阳西县人民医院", name_en="People"} 1 1'
    )
    pattern = variable["regex"].strip("/").replace("(?<", "(?P<")
    match = re.search(pattern, row)
    assert match and match.group("value") == "yx-ch-people" and match.group("text") == "阳西县人民医院"
    for panel in panels(model):
        for target in panel.get("targets", []):
            assert "$facility" in target["expr"], panel["title"]


def test_provisioning_points_at_the_generated_dashboards() -> None:
    files = generated_files(POLICY)
    provider = yaml.safe_load(files[Path("deploy/grafana/provisioning/dashboards/medalliance.yml")])[
        "providers"
    ][0]
    assert provider["type"] == "file" and provider["allowUiUpdates"] is False
    compose = yaml.safe_load((PROJECT_ROOT / "deploy/compose/compose.yaml").read_text(encoding="utf-8"))
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"../../dashboards/generated:{provider['options']['path']}:ro" in mounts
