"""五大中心 / High-risk requests: per category the stage funnel, time to stage against the standard,
due-soon and overdue requests by stage and destination.

    >>> requests("medalliance-high-risk-requests").build().title
    '五大中心 / High-risk requests'

Figures over "the range" use Grafana's `$__range` (the dashboard's time window, 24 h by default), so
the funnel and percentiles cover the same requests. The per-request board is the wall page's.
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.boards import labels
from dashboards.boards.centers import center_panels
from dashboards.boards.layout import (
    COUNT_ALARM_STEPS,
    COUNT_WARN_STEPS,
    Title,
    bar_panel,
    merge_and_organize,
    new_board,
    query,
    table_panel,
    thresholds_property,
    time_panel,
)
from dashboards.boards.queries import named, standard_seconds, to_facility_as_facility
from schemas import metrics as c
from schemas.policy import Policy
from schemas.promql import selector, sharded_rate_sum, sharded_sum

NAME: Final = Title("五大中心", "High-risk requests")
RANGE: Final = "$__range"
HOUR: Final = 3600
# p90 against the standard: green under 80% of it (as 'due soon' is), orange to 100%, red past it.
QUANTILES: Final = (0.5, 0.9)
ACCEPTED: Final = 'stage="accepted"'
SUBMITTED: Final = 'type="request.submitted"'


def reached(window: str) -> str:
    """Requests that reached each timed stage within `window`, by category and stage."""
    counts = selector(c.REQUEST_STAGE_SECONDS, suffix="_count")
    return f"round(sum by (category, stage) (increase({counts}[{window}])))"


def stage_quantile(quantile: float, window: str) -> str:
    buckets = selector(c.REQUEST_STAGE_SECONDS, suffix="_bucket")
    return f"histogram_quantile({quantile}, sum by (category, stage, le) (increase({buckets}[{window}])))"


def funnel() -> Builder[dm.Panel]:
    matrix = dm.DataTransformerConfig(
        id_val="groupingToMatrix",
        options={"columnField": "stage", "rowField": "category", "valueField": "Value", "emptyValue": "zero"},
    )
    return (
        table_panel(
            Title("阶段漏斗", "Stage funnel per category"),
            [query(reached(RANGE), "A", table_format=True)],
            transformations=[matrix],
            description="Requests that reached each stage during the time range, per category (rows). A "
            "request counts at a stage once both its submission and that stage are known. Open requests by "
            "furthest stage are on the overview.",
        )
        .mappings(labels.text_mappings(labels.CATEGORY_NAMES))
        .span(12)
        .height(8)
    )


def open_by_category() -> Builder[dm.Panel]:
    expr = sharded_sum(c.REQUESTS_OPEN, by=("category",))
    return (
        time_panel(
            Title("未完成申请", "Open requests by category"),
            [query(expr, "A", legend="{{category}}")],
            stacked=True,
            description="Open high-risk requests (submitted, not yet completed, rejected or cancelled).",
        )
        .transformations(labels.series_renames(labels.CATEGORY_NAMES))
        .span(12)
        .height(8)
    )


def time_to_stage(policy: Policy) -> Builder[dm.Panel]:
    """p50 and p90 time to each stage over the range, the standard, and p90 as a share of it."""
    p50, p90 = (stage_quantile(q, RANGE) for q in QUANTILES)
    standard = standard_seconds(policy)
    columns = {
        "category": "类别 category",
        "stage": "阶段 stage",
        "Value #A": "中位数 p50",
        "Value #B": "p90",
        "Value #C": "标准 standard",
        "Value #D": "p90/标准 of standard",
    }
    seconds = [dm.DynamicConfigValue(id_val="unit", value="s")]
    ratio = [
        dm.DynamicConfigValue(id_val="unit", value="percentunit"),
        thresholds_property(((None, "green"), (policy.requests.due_soon_share, "orange"), (1.0, "red"))),
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"}),
    ]
    panel = table_panel(
        Title("各阶段用时与标准", "Time to stage against the standard"),
        [
            query(p50, "A", table_format=True),
            query(p90, "B", table_format=True),
            query(standard, "C", table_format=True),
            query(f"({p90}) / on (category, stage) ({standard})", "D", table_format=True),
        ],
        transformations=merge_and_organize(columns),
        description="Time from submission to each stage over the range, against the default standards "
        "(accepted ≤ 10 min; arrived ≤ 60 min, 90 min for maternal and neonatal).",
    ).mappings(labels.text_mappings(labels.CATEGORY_NAMES, labels.STAGE_NAMES))
    for column in ("中位数 p50", "p90", "标准 standard"):
        panel = panel.override_by_name(column, seconds)
    return panel.override_by_name("p90/标准 of standard", ratio).span(24).height(8)


def waiting_table() -> Builder[dm.Panel]:
    """Due-soon and overdue requests by category, stage waited for and destination."""
    by = ("category", "stage", "to_facility")
    due = named(to_facility_as_facility(sharded_sum(c.REQUESTS_DUE_SOON, by=by)))
    overdue = named(to_facility_as_facility(sharded_sum(c.REQUESTS_OVERDUE, by=by)))
    columns = {
        "category": "类别 category",
        "stage": "等待 waiting for",
        "name": "接收医院 destination",
        "Value #A": "将超时 due soon",
        "Value #B": "超时 overdue",
    }
    hidden = ("Time", "facility", "to_facility", "name_en", "level", "township", "job")
    return (
        table_panel(
            Title("将超时与超时申请", "Due-soon and overdue requests"),
            [query(due, "A", table_format=True), query(overdue, "B", table_format=True)],
            transformations=merge_and_organize(columns, hidden),
            description="Open requests within 20% of (due soon) or past (overdue) the standard for the stage "
            "they wait for, by destination. Empty when every request is on time.",
        )
        .mappings(labels.text_mappings(labels.CATEGORY_NAMES, labels.WAITING_NAMES))
        .override_by_name("超时 overdue", [thresholds_property(COUNT_ALARM_STEPS)])
        .override_by_name("将超时 due soon", [thresholds_property(COUNT_WARN_STEPS)])
        .span(14)
        .height(8)
    )


def waiting_by_category() -> Builder[dm.Panel]:
    overdue = sharded_sum(c.REQUESTS_OVERDUE, by=("category",))
    due = sharded_sum(c.REQUESTS_DUE_SOON, by=("category",))
    return (
        bar_panel(
            Title("超时按类别", "Overdue and due soon by category"),
            [
                query(overdue, "A", legend="{{category}} 超时 overdue", instant=True),
                query(due, "B", legend="{{category}} 将超时 due soon", instant=True),
            ],
            steps=COUNT_ALARM_STEPS,
        )
        .override_by_query("B", [thresholds_property(COUNT_WARN_STEPS)])
        .transformations(labels.series_renames(labels.CATEGORY_NAMES))
        .span(10)
        .height(8)
    )


def trends() -> list[Builder[dm.Panel]]:
    buckets = selector(c.REQUEST_STAGE_SECONDS, ACCEPTED, suffix="_bucket")
    accept_p90 = f"histogram_quantile(0.9, sum by (category, le) (rate({buckets}[1h])))"
    per_hour = time_panel(
        Title("每小时新申请", "Requests submitted per hour"),
        [
            query(
                f"{sharded_rate_sum(c.EVENTS, '1h', SUBMITTED, by=())} * {HOUR}",
                "A",
                legend="新申请 submitted",
            )
        ],
    )
    accept = time_panel(
        Title("接收用时p90趋势", "Time to accept, p90 (1 h)"),
        [query(accept_p90, "A", legend="{{category}}")],
        unit="s",
        steps=((None, "green"), (600, "red")),
    ).transformations(labels.series_renames(labels.CATEGORY_NAMES))
    return [accept.span(12).height(7), per_hour.span(12).height(7)]


def requests(uid: str, policy: Policy) -> Dashboard:
    board = new_board(NAME, uid, tags=("five-centers",)).refresh("30s").time("now-24h", "now")
    for panel in [
        funnel(),
        open_by_category(),
        time_to_stage(policy),
        waiting_table(),
        waiting_by_category(),
        *trends(),
        *center_panels(policy),
    ]:
        board = board.with_panel(panel)
    return board
