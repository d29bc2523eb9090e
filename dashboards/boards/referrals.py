"""双向转诊与医共体指标 / Referrals and alliance indicators: referrals up, down, lateral and out of the
alliance, time to accept, pending referrals beside the free beds of their target ward, the expired
ones, and the primary-care share against its target (dashboards/boards/indicators.py).

    >>> referrals("medalliance-referrals-and-alliance", shipped_policy()).build().title
    '双向转诊与医共体指标 / Referrals and alliance indicators'

Figures "over the range" use Grafana's `$__range` (7 days by default). Counts over a range are
rounded: `increase` extrapolates to the window's edges. Formulas and sources: docs/indicators.md.
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.boards import labels
from dashboards.boards.indicators import indicator_panels, not_computed
from dashboards.boards.layout import (
    COUNT_ALARM_STEPS,
    COUNT_WARN_STEPS,
    NO_DATA,
    Title,
    merge_and_organize,
    new_board,
    query,
    stat_panel,
    table_panel,
    thresholds_property,
    time_panel,
)
from dashboards.boards.queries import facilities, named
from schemas import metrics as c
from schemas import rules as n
from schemas.policy import Policy
from schemas.promql import selector, sharded_sum

NAME: Final = Title("双向转诊与医共体指标", "Referrals and alliance indicators")
RANGE: Final = "$__range"
QUANTILES: Final = (0.5, 0.9)
ACCEPTED: Final = 'stage="accepted"'
ARRIVED: Final = 'stage="arrived"'
PENDING: Final = f"({n.REFERRALS_PENDING_FACILITY_WARD} > 0)"
SECONDS: Final = [dm.DynamicConfigValue(id_val="unit", value="s")]
PERCENT: Final = [dm.DynamicConfigValue(id_val="unit", value="percentunit")]


def _by_direction(spec: c.MetricSpec) -> str:
    return sharded_sum(spec, by=("direction",))


def _month(direction: str) -> str:
    matcher = f'direction="{direction}"'
    return sharded_sum(c.REFERRALS_MONTH, matcher, by=())


def counts() -> list[Builder[dm.Panel]]:
    """Referrals requested today and this month to date, per direction."""
    panels: list[Builder[dm.Panel]] = []
    for spec, title in (
        (c.REFERRALS_TODAY, Title("今日转诊", "Referrals today")),
        (c.REFERRALS_MONTH, Title("本月转诊", "Referrals this month to date")),
    ):
        panel = stat_panel(
            title,
            [query(_by_direction(spec), "A", legend="{{direction}}", instant=True)],
            description=f"{title.en}, by direction (up to a higher level, down, lateral, external: out of "
            "the alliance), counted when the referral is requested (local date, Asia/Shanghai).",
        )
        panels.append(panel.transformations(labels.series_renames(labels.DIRECTION_NAMES)).span(9).height(5))
    return panels


def down_per_up() -> Builder[dm.Panel]:
    up, down = _month("up"), _month("down")
    return (
        stat_panel(
            Title("下转/上转", "Down per up referral, month"),
            [query(f"({down} or 0 * {up}) / ({up} > 0)", "A", legend="下转/上转 down per up", instant=True)],
            unit="none",
            description="Referrals down per referral up this month to date (下转人次 / 上转人次); no answer "
            "while there is no up-referral.",
            no_value=NO_DATA,
        )
        .decimals(2)
        .span(6)
        .height(5)
    )


def _stage_increase(part: str, matchers: str, by: str = "direction") -> str:
    series = selector(c.REFERRAL_STAGE_SECONDS, matchers, suffix=part)
    return f"sum by ({by}) (increase({series}[{RANGE}]))"


def time_to_accept() -> Builder[dm.Panel]:
    quantiles = [
        f"histogram_quantile({q}, {_stage_increase('_bucket', ACCEPTED, 'direction, le')})" for q in QUANTILES
    ]
    count = _stage_increase("_count", ACCEPTED)
    mean = f"{_stage_increase('_sum', ACCEPTED)} / ({count} > 0)"
    columns = {
        "direction": "方向 direction",
        "Value #A": "中位数 p50",
        "Value #B": "p90",
        "Value #C": "平均 mean",
    }
    panel = table_panel(
        Title("接收用时", "Time to accept by direction"),
        [
            query(quantiles[0], "A", table_format=True),
            query(quantiles[1], "B", table_format=True),
            query(mean, "C", table_format=True),
        ],
        transformations=merge_and_organize(columns),
        description="Time from the request to its acceptance over the range, for the referrals accepted in "
        "it (a late acceptance counts too): quantiles from the histogram's buckets, mean from its sum.",
    ).mappings(labels.text_mappings(labels.DIRECTION_NAMES))
    for column in ("中位数 p50", "p90", "平均 mean"):
        panel = panel.override_by_name(column, SECONDS)
    return panel.span(12).height(7)


def arrivals() -> Builder[dm.Panel]:
    accepted, arrived = _stage_increase("_count", ACCEPTED), _stage_increase("_count", ARRIVED)
    late = f"sum by (direction) (increase({selector(c.REFERRALS_ACCEPTED_LATE)}[{RANGE}]))"
    columns = {
        "direction": "方向 direction",
        "Value #A": "接收 accepted",
        "Value #B": "到达 arrived",
        "Value #C": "到达/接收 arrived per accepted",
        "Value #D": "超时接收 accepted late",
    }
    return (
        table_panel(
            Title("接收与到达", "Accepted, arrived and late"),
            [
                query(f"round({accepted})", "A", table_format=True),
                query(f"round({arrived})", "B", table_format=True),
                query(f"({arrived} or 0 * {accepted}) / ({accepted} > 0)", "C", table_format=True),
                query(f"round({late})", "D", table_format=True),
            ],
            transformations=merge_and_organize(columns),
            description="Referrals accepted and arrived during the range, their ratio (a referral accepted "
            "before the range and arrived in it counts in the numerator only), and acceptances at or past "
            "the policy's pending limit (still counted as accepted).",
        )
        .mappings(labels.text_mappings(labels.DIRECTION_NAMES))
        .override_by_name("到达/接收 arrived per accepted", PERCENT)
        .override_by_name("超时接收 accepted late", [thresholds_property(COUNT_WARN_STEPS)])
        .span(12)
        .height(7)
    )


def pending_beds() -> Builder[dm.Panel]:
    """Pending referrals per receiving ward, beside that ward's free beds (a join on facility and ward)."""
    free = f"{n.BEDS_FREE_WARD} and on (facility, ward) {PENDING}"
    expired = f"{sharded_sum(c.REFERRALS_EXPIRED)} and on (facility, ward) {PENDING}"
    columns = {
        "name": "接收机构 receiver",
        "ward": "目标病区 target ward",
        "Value #A": "待接收 pending",
        "Value #B": "空床 free beds",
        "Value #C": "已超时 expired",
    }
    hidden = ("Time", "facility", "name_en", "level", "township", "job")
    return (
        table_panel(
            Title("待接收转诊与目标病区空床", "Pending referrals and free beds at the target ward"),
            [
                query(named(PENDING), "A", table_format=True),
                query(named(free), "B", table_format=True),
                query(named(expired), "C", table_format=True),
            ],
            transformations=merge_and_organize(columns, hidden),
            description="Referrals to an alliance facility neither accepted, rejected nor cancelled, per "
            "target ward (empty: none named), the ward's free beds (latest census and movements) and those "
            "past the pending limit of their direction.",
        )
        .override_by_name("已超时 expired", [thresholds_property(COUNT_ALARM_STEPS)])
        .span(15)
        .height(8)
    )


def _limits(policy: Policy) -> str:
    minutes = policy.referrals.pending_limit_minutes
    return ", ".join(f"{direction} {limit / 60:g} h" for direction, limit in minutes.items())


def expired(policy: Policy) -> Builder[dm.Panel]:
    alliance = f"sum({n.REFERRALS_EXPIRED_FACILITY} and on (facility) {facilities()}) or vector(0)"
    outside = f"sum by (facility) ({n.REFERRALS_EXPIRED_FACILITY} unless on (facility) {facilities()})"
    return (
        stat_panel(
            Title("超时待接收", "Expired pending referrals"),
            [
                query(alliance, "A", legend="医共体内 alliance (工单 ticket)", instant=True),
                query(outside, "B", legend="{{facility}}", instant=True),
            ],
            steps=COUNT_ALARM_STEPS,
            description=f"Referrals pending past the policy's limit ({_limits(policy)}). An alliance "
            "receiver gets a ticket (ReferralPendingExpired); an outside "
            "destination is shown here only.",
        )
        .override_by_query("B", [thresholds_property(COUNT_WARN_STEPS)])
        .transformations(labels.series_renames(labels.EXTERNAL_NAMES))
        .span(9)
        .height(8)
    )


def per_day() -> Builder[dm.Panel]:
    expr = f"round(sum by (direction) (increase({selector(c.REFERRALS)}[1d])))"
    return (
        time_panel(
            Title("每日转诊趋势", "Referrals over the last 24 h by direction"),
            [query(expr, "A", legend="{{direction}}")],
            description="Referrals requested in the 24 hours before each point, by direction.",
        )
        .transformations(labels.series_renames(labels.DIRECTION_NAMES))
        .span(12)
        .height(7)
    )


def referrals(uid: str, policy: Policy) -> Dashboard:
    board = new_board(NAME, uid, tags=("referrals", "indicators")).refresh("1m").time("now-7d", "now")
    for panel in [
        *counts(),
        down_per_up(),
        time_to_accept(),
        arrivals(),
        pending_beds(),
        expired(policy),
        *indicator_panels(policy),
        per_day(),
        not_computed(),
    ]:
        board = board.with_panel(panel)
    return board
