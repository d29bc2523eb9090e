"""One staleness rule: the pager, the dashboards and the wall name the same stale feeds on the same data.

Prometheus's own rule engine (`promtool test rules`, the generated production rules) evaluates the
three readers at one instant: the FeedStale alerts that fire, the overview dashboard's stale-feed table
query as committed, and the wall's query. The stale set is written here by hand from the inputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas import metrics as c
from schemas.registry import Registry
from streams.wall.queries import WALL_QUERIES
from tests.dashboards.alert_series import info, run_promtool, series
from tests.support.stack import PROJECT_ROOT

HOSPITAL = "yx-ch-people"  # beds silent since minute 0, visits live
TOWN = "yx-thc-zhigong"  # everything live
NEVER = "yx-thc-chengcun"  # open, never sent anything
CLINIC = "yx-vc-zhigong-01"  # open all along, beds silent since minute 0
CLOSED = "yx-vc-zhigong-02"  # closed all along, silent: never stale
MINUTES = 21
AT = "20m"
# Minute 20: beds at the hospital and the open clinic have been silent 20 min (> 5); the second
# town health center was never heard from; everything else is live or closed.
STALE = {(HOSPITAL, "beds"), (CLINIC, "beds"), (NEVER, "all")}


def _inputs(registry: Registry) -> list[dict[str, str]]:
    inputs = [info(registry.facility(f)) for f in (HOSPITAL, TOWN, NEVER, CLINIC, CLOSED)]
    live = [60 * minute for minute in range(MINUTES)]
    silent = [0] * MINUTES
    for facility in (HOSPITAL, TOWN, NEVER, CLINIC):
        inputs.append(series(c.FACILITY_OPEN, {"facility": facility}, [1] * MINUTES))
    inputs.append(series(c.FACILITY_OPEN, {"facility": CLOSED}, [0] * MINUTES))
    seen = {
        (HOSPITAL, "beds"): silent,
        (HOSPITAL, "visits"): live,
        (TOWN, "beds"): live,
        (TOWN, "visits"): live,
        (CLINIC, "beds"): silent,
        (CLINIC, "visits"): live,
        (CLOSED, "beds"): silent,
    }
    for (facility, feed), values in seen.items():
        inputs.append(series(c.FEED_LAST_SEEN, {"facility": facility, "feed": feed}, values))
    return inputs


def _dashboard_stale_table() -> str:
    board = json.loads(
        (PROJECT_ROOT / "dashboards/generated/medalliance-alliance-overview.json").read_text(encoding="utf-8")
    )
    panel = next(p for p in board["panels"] if p["title"].startswith("停更数据流明细"))
    return next(t["expr"] for t in panel["targets"] if t["refId"] == "A")


def _as_set(expr: str) -> str:
    return f"count by (facility, feed) ({expr})"


def _samples(pairs: set[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"labels": f'{{facility="{f}", feed="{feed}"}}', "value": 1} for f, feed in sorted(pairs)]


def test_pager_dashboards_and_wall_name_the_same_stale_feeds(tmp_path: Path, registry: Registry) -> None:
    firing = 'ALERTS{alertname=~"FeedStaleHospital|FeedStaleVillageClinic", alertstate="firing"}'
    readers = {
        "pager": firing,
        "dashboards": _dashboard_stale_table(),
        "wall": WALL_QUERIES["stale_feeds"],
    }
    cases = [
        {"expr": _as_set(expr), "eval_time": AT, "exp_samples": _samples(STALE)} for expr in readers.values()
    ]
    result = run_promtool(
        tmp_path, [{"interval": "1m", "input_series": _inputs(registry), "promql_expr_test": cases}]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_clinic_is_not_stale_before_its_grace_has_passed(tmp_path: Path, registry: Registry) -> None:
    # The clinic opens at minute 10 and has been silent since minute 0: stale for the hospitals' rule,
    # but judged only once open for the whole 10-minute grace, i.e. from minute 20.
    inputs = [info(registry.facility(CLINIC))]
    inputs.append(series(c.FACILITY_OPEN, {"facility": CLINIC}, [0] * 10 + [1] * (MINUTES + 5)))
    inputs.append(series(c.FEED_LAST_SEEN, {"facility": CLINIC, "feed": "beds"}, [0] * (MINUTES + 15)))
    wall = _as_set(WALL_QUERIES["stale_feeds"])
    cases = [
        {"expr": wall, "eval_time": "19m", "exp_samples": []},
        {"expr": wall, "eval_time": "20m", "exp_samples": _samples({(CLINIC, "beds")})},
    ]
    result = run_promtool(tmp_path, [{"interval": "1m", "input_series": inputs, "promql_expr_test": cases}])
    assert result.returncode == 0, result.stdout + result.stderr
