"""promtool unit tests of the referral ticket and the referral and indicator recording rules,
production durations: an expired referral to an alliance facility opens a ticket after its `for:`
and resolves when it goes; an outside destination's never does. 基层诊疗量占比 from visits per level.

Inputs are what a worker would export; expected counts and shares are worked out by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas import metrics as c
from schemas.registry import Registry
from tests.dashboards.alert_series import boundary, expected_alert, info, names, run_promtool, series
from tests.dashboards.indicator_series import (
    HOSPITAL,
    JOB,
    OUTSIDE,
    SHARE_DAY,
    SHARE_MONTH,
    SHARE_TODAY,
    TOWN,
    visit_inputs,
)

INDICATOR_GROUPS = {"medalliance.referrals", "medalliance.indicators"}


def check(tmp_path: Path, inputs: list[dict[str, str]], tests: list[dict[str, Any]], **kw: Any) -> None:
    key = "alert_rule_test" if tests and "alertname" in tests[0] else "promql_expr_test"
    result = run_promtool(tmp_path, [{"interval": "1m", "input_series": inputs, key: tests}], **kw)
    assert result.returncode == 0, result.stdout + result.stderr


def _labels(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def test_an_expired_referral_opens_a_ticket_for_its_receiver_then_resolves(
    tmp_path: Path, registry: Registry
) -> None:
    hospital = registry.facility(HOSPITAL)
    n = 40
    # One referral to cardiology expired from minute 5 to 29 (then accepted: gone); a second, to
    # neurology in another partition, expired from minute 22 to 24: the ticket counts 2 at minute 23.
    # A referral out of the county is expired all along: shown on the dashboard, never ticketed.
    inputs = [
        info(hospital, minutes=n),
        series(c.REFERRALS_EXPIRED, {"facility": HOSPITAL, "ward": "cardiology", "partition": "3"},
               [0] * 5 + [1] * 25 + [0] * 10),
        series(c.REFERRALS_EXPIRED, {"facility": HOSPITAL, "ward": "neurology", "partition": "5"},
               [0] * 22 + [1] * 3 + [0] * 15),
        series(c.REFERRALS_EXPIRED, {"facility": OUTSIDE, "partition": "1"}, [1] * n),
    ]  # fmt: skip
    alert = "ReferralPendingExpired"
    tests = [
        *boundary(alert, 5, 15, [expected_alert(alert, names(hospital), 1)]),
        {"eval_time": "23m", "alertname": alert, "exp_alerts": [expected_alert(alert, names(hospital), 2)]},
        {"eval_time": "29m", "alertname": alert, "exp_alerts": [expected_alert(alert, names(hospital), 1)]},
        {"eval_time": "30m", "alertname": alert, "exp_alerts": []},  # accepted: resolved
        {"eval_time": "39m", "alertname": alert, "exp_alerts": []},  # the outside one, 39 min: none
    ]
    check(tmp_path, inputs, tests)


def test_a_short_expiry_opens_no_ticket(tmp_path: Path, registry: Registry) -> None:
    # Expired for 14 minutes (5..18), then rejected: under the 15-minute `for:`.
    inputs = [
        info(registry.facility(TOWN), minutes=30),
        series(c.REFERRALS_EXPIRED, {"facility": TOWN, "ward": "general"}, [0] * 5 + [1] * 14 + [0] * 11),
    ]
    tests = [
        {"eval_time": f"{minute}m", "alertname": "ReferralPendingExpired", "exp_alerts": []}
        for minute in (18, 19, 20, 29)
    ]
    check(tmp_path, inputs, tests)


def test_pending_per_ward_and_expired_per_facility(tmp_path: Path) -> None:
    n = 10
    inputs = [
        series(c.REFERRALS_PENDING, {"facility": HOSPITAL, "ward": "cardiology", "partition": "3"}, [2] * n),
        series(c.REFERRALS_PENDING, {"facility": HOSPITAL, "ward": "cardiology", "partition": "5"}, [1] * n),
        series(c.REFERRALS_PENDING, {"facility": HOSPITAL, "partition": "3"}, [1] * n),  # no ward named
        series(c.REFERRALS_EXPIRED, {"facility": HOSPITAL, "ward": "cardiology", "partition": "3"}, [1] * n),
        series(c.REFERRALS_EXPIRED, {"facility": HOSPITAL, "partition": "3"}, [1] * n),
    ]
    pending = "medalliance:referrals_pending:facility_ward"
    expired = "medalliance:referrals_expired:facility"
    tests = [
        {"expr": pending, "eval_time": "5m", "exp_samples": [
            {"labels": _labels(pending, {"facility": HOSPITAL, "ward": "cardiology", "job": JOB}),
             "value": 3},
            {"labels": _labels(pending, {"facility": HOSPITAL, "job": JOB}), "value": 1},
        ]},
        {"expr": expired, "eval_time": "5m",
         "exp_samples": [{"labels": _labels(expired, {"facility": HOSPITAL}), "value": 2}]},
    ]  # fmt: skip
    check(tmp_path, inputs, tests, groups=INDICATOR_GROUPS)


def test_primary_care_share_today_month_and_last_day(tmp_path: Path, registry: Registry) -> None:
    minutes = 24 * 60 + 30  # past a full day, so the 1-day window is full
    cases = [
        ("medalliance:primary_care_visit_share:today", SHARE_TODAY),
        ("medalliance:primary_care_visit_share:month", SHARE_MONTH),
        ("medalliance:primary_care_visit_share:increase1d", SHARE_DAY),
        ("medalliance:primary_care_visit_share_target:policy", 0.65),  # schemas/policy.yaml ships 65%
    ]
    tests = [
        {"expr": rule, "eval_time": f"{minutes - 5}m", "exp_samples": [{"labels": rule, "value": value}]}
        for rule, value in cases
    ]
    check(tmp_path, visit_inputs(registry, minutes), tests, groups=INDICATOR_GROUPS)


def test_no_visits_is_no_answer_and_no_primary_visit_is_zero(tmp_path: Path, registry: Registry) -> None:
    # Minutes 0-9: no visit anywhere today (after midnight): no share, not 0%. From minute 10 the
    # county hospital has 12 visits and no primary facility any: 0%.
    n = 20
    inputs = [info(registry.facility(f), minutes=n) for f in (HOSPITAL, TOWN)]
    inputs.append(series(c.VISITS_TODAY, {"facility": HOSPITAL, "kind": "outpatient"}, [0] * 10 + [12] * 10))
    inputs.append(series(c.VISITS_TODAY, {"facility": TOWN, "kind": "outpatient"}, [0] * n))
    rule = "medalliance:primary_care_visit_share:today"
    tests: list[dict[str, Any]] = [
        {"expr": rule, "eval_time": "5m", "exp_samples": []},
        {"expr": rule, "eval_time": "15m", "exp_samples": [{"labels": rule, "value": 0}]},
        # No month series at all: no answer either.
        {"expr": "medalliance:primary_care_visit_share:month", "eval_time": "15m", "exp_samples": []},
    ]
    check(tmp_path, inputs, tests, groups=INDICATOR_GROUPS)
