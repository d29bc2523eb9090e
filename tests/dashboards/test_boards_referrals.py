"""Every query of the referrals and indicators dashboard, as committed, on Prometheus's rule engine
(`promtool test rules` with the generated production rules), against hand-made series and answers
worked out by hand: counts by direction, down per up, time to accept (quantiles and mean), arrived per
accepted, late accepts, pending referrals joined on (facility, ward) to their ward's free beds, the
expired ones inside and outside the alliance, and the primary-care share against its target.

Time line (minutes): the range is 1 h, evaluated at minute 120, so events before minute 60 are outside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas import metrics as c
from schemas.registry import Registry
from tests.dashboards.alert_series import info, names, run_promtool, series
from tests.dashboards.indicator_series import (
    CLINIC,
    HOSPITAL,
    JOB,
    OUTSIDE,
    SHARE_DAY,
    SHARE_MONTH,
    SHARE_TODAY,
    TOWN,
    visit_inputs,
)
from tests.support.stack import PROJECT_ROOT

BOARD = PROJECT_ROOT / "dashboards/generated/medalliance-referrals-and-alliance.json"
N = 130
AT = "120m"
MACROS = {"$__range": "1h"}
BUCKETS = (
    "300.0",
    "600.0",
    "900.0",
    "1800.0",
    "3600.0",
    "7200.0",
    "14400.0",
    "28800.0",
    "43200.0",
    "86400.0",
    "172800.0",
    "+Inf",
)  # fmt: skip  (prometheus_client's `le` of the contract's bounds)
Expected = list[tuple[dict[str, str], float]]
TARGET = {"__name__": "medalliance:primary_care_visit_share_target:policy"}


def rule(period: str) -> dict[str, str]:
    return {"__name__": f"medalliance:primary_care_visit_share:{period}"}


def step(before: float, after: float, at: int) -> list[float]:
    return [before] * at + [after] * (N - at)


def cumulative(seconds: list[float]) -> dict[str, int]:
    """Cumulative bucket counts of some observations, by `le`."""
    return {le: sum(1 for s in seconds if s <= float(le)) for le in BUCKETS}


def stage_inputs(direction: str, stage: str, old: list[float], new: list[float]) -> list[dict[str, str]]:
    """A stage histogram holding `old` observations from minute 30 and `new` ones too from minute 70."""
    labels = {"direction": direction, "stage": stage, "partition": "2"}
    rows = []
    before, after = cumulative(old), cumulative(old + new)
    for le in BUCKETS:
        values = [0] * 30 + [before[le]] * 40 + [after[le]] * (N - 70)
        rows.append(series(c.REFERRAL_STAGE_SECONDS, {**labels, "le": le}, values, suffix="_bucket"))
    count = [0] * 30 + [len(old)] * 40 + [len(old + new)] * (N - 70)
    total = [0] * 30 + [sum(old)] * 40 + [sum(old + new)] * (N - 70)
    rows.append(series(c.REFERRAL_STAGE_SECONDS, labels, count, suffix="_count"))
    rows.append(series(c.REFERRAL_STAGE_SECONDS, labels, total, suffix="_sum"))
    return rows


def referral(direction: str, sender: str, receiver: str, partition: str) -> dict[str, str]:
    return {"direction": direction, "from_facility": sender, "to_facility": receiver, "partition": partition}


def inputs(registry: Registry) -> list[dict[str, str]]:
    rows = visit_inputs(registry, N)  # info for the hospital, the town health center and the clinic
    # Today: up 3 + 1, down 2, external 1 (none lateral). Month: up 30 + 10, down 10 (from minute 20).
    for labels, today, month in (
        (referral("up", TOWN, HOSPITAL, "0"), 3, 30),
        (referral("up", CLINIC, HOSPITAL, "1"), 1, 10),
        (referral("external", HOSPITAL, OUTSIDE, "2"), 1, 5),
    ):
        rows.append(series(c.REFERRALS_TODAY, labels, [today] * N))
        rows.append(series(c.REFERRALS_MONTH, labels, [month] * N))
    down = referral("down", HOSPITAL, TOWN, "3")
    rows.append(series(c.REFERRALS_TODAY, down, [2] * N))
    rows.append(series(c.REFERRALS_MONTH, down, [None] * 20 + [10] * (N - 20)))
    # Counters: 5 up (minute 10), 2 down (minute 90) since minute 0.
    rows.append(series(c.REFERRALS, referral("up", TOWN, HOSPITAL, "0"), step(0, 5, 10)))
    rows.append(series(c.REFERRALS, down, step(0, 2, 90)))
    # Accepted up: one of 200 s at minute 30 (outside the range), then 480, 1000, 1500, 2400 s.
    rows += stage_inputs("up", "accepted", [200], [480, 1000, 1500, 2400])
    rows += stage_inputs("down", "accepted", [], [3000, 5000])
    rows += stage_inputs("up", "arrived", [100], [1200, 2000, 2600])  # no down-referral has arrived
    rows.append(series(c.REFERRALS_ACCEPTED_LATE, {"direction": "up", "facility": HOSPITAL}, step(0, 1, 80)))
    # Pending: cardiology 2 + 1 (two partitions), one with no ward named, the town's general ward 1,
    # the clinic 0 (exported, nothing pending), 2 out of the county.
    for labels, value in (
        ({"facility": HOSPITAL, "ward": "cardiology", "partition": "3"}, 2),
        ({"facility": HOSPITAL, "ward": "cardiology", "partition": "5"}, 1),
        ({"facility": HOSPITAL, "partition": "3"}, 1),
        ({"facility": TOWN, "ward": "general", "partition": "4"}, 1),
        ({"facility": CLINIC, "ward": "general", "partition": "4"}, 0),
        ({"facility": OUTSIDE, "partition": "1"}, 2),
    ):
        rows.append(series(c.REFERRALS_PENDING, labels, [value] * N))
    # Expired: one to cardiology, none at the town (exported as 0), one out of the county.
    for labels, value in (
        ({"facility": HOSPITAL, "ward": "cardiology", "partition": "3"}, 1),
        ({"facility": TOWN, "ward": "general", "partition": "4"}, 0),
        ({"facility": OUTSIDE, "partition": "1"}, 1),
    ):
        rows.append(series(c.REFERRALS_EXPIRED, labels, [value] * N))
    # Beds: cardiology 20 staffed, 17 occupied (3 free); the town's general ward 30 / 32 (none free:
    # corridor beds); neurology 50 / 40 has nothing pending and must not be listed.
    for facility, ward, staffed, occupied in (
        (HOSPITAL, "cardiology", 20, 17),
        (TOWN, "general", 30, 32),
        (HOSPITAL, "neurology", 50, 40),
    ):
        rows.append(series(c.BEDS_STAFFED, {"facility": facility, "ward": ward}, [staffed] * N))
        rows.append(series(c.BEDS_OCCUPIED, {"facility": facility, "ward": ward}, [occupied] * N))
    return rows


def expected(registry: Registry) -> dict[tuple[str, str], Expected]:
    """(title start, refId) -> the samples at minute 120, worked out from the inputs above."""
    hospital, town = names(registry.facility(HOSPITAL)), names(registry.facility(TOWN))
    cardiology = {**hospital, "ward": "cardiology", "job": JOB}
    no_ward = {**hospital, "job": JOB}
    general = {**town, "ward": "general", "job": JOB}

    def by(direction: str) -> dict[str, str]:
        return {"direction": direction}

    return {
        ("今日转诊", "A"): [(by("up"), 4), (by("down"), 2), (by("external"), 1)],
        ("本月转诊", "A"): [(by("up"), 40), (by("down"), 10), (by("external"), 5)],
        ("下转/上转", "A"): [({}, 10 / 40)],
        # Up: 4 in the range; p50 is rank 2, between 900 (1 below) and 1800 (3): 900 + 900 * 1/2;
        # p90 rank 3.6 between 1800 (3) and 3600 (4): 1800 + 1800 * 0.6. Down: 3000 and 5000; p50
        # rank 1 is the top of (1800, 3600]; p90 rank 1.8 in (3600, 7200]: 3600 + 3600 * 0.8.
        ("接收用时", "A"): [(by("up"), 1350), (by("down"), 3600)],
        ("接收用时", "B"): [(by("up"), 2880), (by("down"), 6480)],
        ("接收用时", "C"): [(by("up"), (480 + 1000 + 1500 + 2400) / 4), (by("down"), 4000)],
        ("接收与到达", "A"): [(by("up"), 4), (by("down"), 2)],
        ("接收与到达", "B"): [(by("up"), 3)],
        ("接收与到达", "C"): [(by("up"), 3 / 4), (by("down"), 0)],
        ("接收与到达", "D"): [(by("up"), 1)],
        ("待接收转诊与目标病区空床", "A"): [(cardiology, 3), (no_ward, 1), (general, 1)],
        ("待接收转诊与目标病区空床", "B"): [(cardiology, 3), (general, 0)],
        ("待接收转诊与目标病区空床", "C"): [(cardiology, 1), (general, 0)],
        ("超时待接收", "A"): [({}, 1)],
        ("超时待接收", "B"): [({"facility": OUTSIDE}, 1)],
        # The recorded shares, read as they are (their name kept).
        ("基层诊疗量占比 /", "A"): [(rule("today"), SHARE_TODAY)],
        ("基层诊疗量占比 /", "B"): [(rule("month"), SHARE_MONTH)],
        ("基层诊疗量占比 /", "C"): [(TARGET, 0.65)],  # schemas/policy.yaml ships 65%
        ("基层诊疗量占比趋势", "A"): [(rule("increase1d"), SHARE_DAY)],
        ("基层诊疗量占比趋势", "B"): [(rule("month"), SHARE_MONTH)],
        ("基层诊疗量占比趋势", "C"): [(TARGET, 0.65)],
        ("每日转诊趋势", "A"): [(by("up"), 5), (by("down"), 2)],
    }


def board_targets() -> dict[tuple[str, str], str]:
    """(panel title, refId) -> expr, macros substituted, of every target of the committed dashboard."""
    board = json.loads(BOARD.read_text(encoding="utf-8"))
    found = {}
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for macro, value in MACROS.items():
                expr = expr.replace(macro, value)
            found[(panel["title"], target["refId"])] = expr
    return found


def _sample(labels: dict[str, str], value: float) -> dict[str, Any]:
    text = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return {"labels": text, "value": value}


def test_every_query_of_the_referrals_board_gives_the_hand_computed_answer(
    tmp_path: Path, registry: Registry
) -> None:
    answers = expected(registry)
    targets = board_targets()
    matched = {
        key: next((title, ref) for title, ref in targets if title.startswith(key[0]) and ref == key[1])
        for key in answers
    }
    assert sorted(matched.values()) == sorted(targets), "a query without a hand-computed answer"
    cases = [
        {"expr": targets[found], "eval_time": AT, "exp_samples": [_sample(*row) for row in answers[key]]}
        for key, found in matched.items()
    ]
    result = run_promtool(
        tmp_path, [{"interval": "1m", "input_series": inputs(registry), "promql_expr_test": cases}]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_down_per_up_is_zero_before_any_down_referral_and_absent_without_up(
    tmp_path: Path, registry: Registry
) -> None:
    targets = board_targets()
    ratio = next(expr for (title, _), expr in targets.items() if title.startswith("下转/上转"))
    # Minute 10: up-referrals this month, the down series not yet exported: 0, not no answer.
    up = referral("up", TOWN, HOSPITAL, "0")
    rows = [
        info(registry.facility(HOSPITAL), minutes=N),
        series(c.REFERRALS_MONTH, up, [None] * 30 + [3] * 100),
    ]
    rows.append(series(c.REFERRALS_MONTH, referral("down", HOSPITAL, TOWN, "3"), [None] * 60 + [1] * 70))
    cases = [
        {"expr": ratio, "eval_time": "10m", "exp_samples": []},  # neither: no answer
        {"expr": ratio, "eval_time": "45m", "exp_samples": [_sample({}, 0)]},
        {"expr": ratio, "eval_time": "90m", "exp_samples": [_sample({}, 1 / 3)]},
    ]
    result = run_promtool(tmp_path, [{"interval": "1m", "input_series": rows, "promql_expr_test": cases}])
    assert result.returncode == 0, result.stdout + result.stderr
