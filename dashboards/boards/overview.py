"""医共体总览 / Alliance overview: the wall's main page, read from across the room.

    >>> overview("medalliance-alliance-overview", "medalliance-facility").build().refresh
    '10s'

27 grid rows tall, no collapsed rows, no scrolling: it fits a 1920×1080 kiosk screen, and a 4K screen
at 200% scale. Every figure whose feed can go silent is drawn grey with '⚠ 停更 stale' when it does.
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.boards import labels
from dashboards.boards.feeds import stale_feed_table
from dashboards.boards.layout import (
    COUNT_ALARM_STEPS,
    COUNT_WARN_STEPS,
    NO_DATA,
    Steps,
    Title,
    fixed_color,
    new_board,
    occupancy_steps,
    query,
    stat_panel,
    table_panel,
    thresholds_property,
    time_panel,
)
from dashboards.boards.queries import (
    FEEDS,
    any_stale,
    county_hospitals,
    data_age,
    named,
    stale_facilities,
    stale_feeds,
)
from dashboards.boards.stale import mark_stale, split_targets
from schemas import metrics as c
from schemas import rules as n
from schemas.policy import Policy
from schemas.promql import sharded_sum

NAME: Final = Title("医共体总览", "Alliance overview")
REFRESH: Final = "10s"
ESCALATION_STEPS: Final = ((None, "green"), (2, "yellow"), (3, "orange"), (4, "red"))


def runway_steps(policy: Policy) -> Steps:
    """Runway in hours: red while the county runs out of beds this shift, green when it is tomorrow's."""
    occupancy = policy.occupancy
    return ((None, "red"), (occupancy.runway_short_hours, "orange"), (occupancy.runway_ample_hours, "green"))


def occupancy_by_hospital(facility_link: str, policy: Policy) -> Builder[dm.Panel]:
    expr = named(county_hospitals(n.OCCUPANCY_RATIO_FACILITY))
    panel = stat_panel(
        Title("县级医院床位使用率", "Bed occupancy, county hospitals"),
        split_targets(expr, stale_facilities(("beds",)), legend="{{name}}"),
        unit="percentunit",
        steps=occupancy_steps(policy),
        background=True,
        no_value=NO_DATA,
        description="Occupied / staffed beds per county hospital: yellow ≥ 85%, orange ≥ 90%, red > 100% "
        "(corridor beds). Grey with '⚠ 停更 stale' when the hospital's beds feed is silent.",
    ).data_links([_drill_down(facility_link)])
    return mark_stale(panel).span(8).height(6)


def free_beds(policy: Policy) -> Builder[dm.Panel]:
    expr = f"sum({n.BEDS_FREE_WARD})"
    panel = stat_panel(
        Title("全县空余床位", "Free staffed beds, county"),
        split_targets(expr, any_stale(("beds",)), legend="空床 free", on=""),
        description="Staffed beds not occupied, all facilities. Grey when a hospital or health-center beds "
        "feed is stale; 'data age' is the oldest contributing feed.",
    )
    return mark_stale(panel, age=data_age(("beds",), policy)).span(4).height(6)


def alliance_escalation(policy: Policy) -> Builder[dm.Panel]:
    panel = stat_panel(
        Title("医共体应急级别", "Alliance escalation level"),
        split_targets(
            n.ESCALATION_LEVEL_ALLIANCE, any_stale(("beds", "visits")), legend="医共体 alliance", on=""
        ),
        steps=ESCALATION_STEPS,
        background=True,
        no_value=NO_DATA,
        description="OPEL-style level 1-4 for the alliance (docs/escalation.md).",
    ).mappings(labels.escalation_mappings())
    return mark_stale(panel, age=data_age(("beds", "visits"), policy)).span(4).height(6)


def bed_runway(policy: Policy) -> Builder[dm.Panel]:
    panel = stat_panel(
        Title("床位余量", "Bed runway"),
        split_targets(n.BED_RUNWAY_HOURS_COUNTY, any_stale(("beds",)), legend="至95% to 95%", on=""),
        unit="h",
        steps=runway_steps(policy),
        no_value="未上升 not rising",
        description="Hours until county occupancy reaches 95% at the trend of the last hour; "
        "empty while occupancy is flat or falling.",
    )
    return mark_stale(panel, age=data_age(("beds",), policy)).span(4).height(6)


def visits_today(policy: Policy) -> Builder[dm.Panel]:
    expr = sharded_sum(c.VISITS_TODAY, by=("kind",))
    panel = stat_panel(
        Title("今日门急诊人次", "Visits today"),
        split_targets(expr, any_stale(("visits",)), legend="{{kind}}", on=""),
        description="Outpatient and emergency visits registered today (local date), all facilities.",
    ).transformations(labels.series_renames(labels.KIND_NAMES))
    return mark_stale(panel, age=data_age(("visits",), policy)).span(4).height(6)


def escalation_by_hospital(facility_link: str) -> Builder[dm.Panel]:
    expr = named(n.ESCALATION_LEVEL_FACILITY)
    panel = (
        stat_panel(
            Title("各院应急级别", "Escalation level per hospital"),
            split_targets(expr, stale_facilities(("beds", "visits")), legend="{{name}}"),
            steps=ESCALATION_STEPS,
            background=True,
            no_value=NO_DATA,
            description="OPEL-style level 1-4 per county hospital: the worst of occupancy, ED crowding "
            "and due/overdue requests.",
        )
        .mappings(labels.escalation_mappings())
        .data_links([_drill_down(facility_link)])
    )
    return mark_stale(panel).span(8).height(6)


def ed_patients(policy: Policy) -> Builder[dm.Panel]:
    expr = sharded_sum(c.ED_PATIENTS, by=("triage_level",))
    panel = stat_panel(
        Title("急诊在院患者", "ED patients now, by triage level"),
        split_targets(expr, any_stale(("visits",)), legend="{{triage_level}}", on=""),
        description="Patients in the emergency departments now, by latest triage level (1 most urgent).",
    ).transformations(labels.series_renames(labels.TRIAGE_NAMES))
    for level, color in labels.TRIAGE_COLORS.items():  # exact names: a stale series keeps its grey
        panel = panel.override_by_name(labels.TRIAGE_NAMES[level], fixed_color(color))
    return mark_stale(panel, age=data_age(("visits",), policy)).span(8).height(6)


def overdue_requests() -> Builder[dm.Panel]:
    overdue = f"{sharded_sum(c.REQUESTS_OVERDUE, by=())} or vector(0)"
    due_soon = f"{sharded_sum(c.REQUESTS_DUE_SOON, by=())} or vector(0)"
    panel = stat_panel(
        Title("超时高危申请", "Overdue high-risk requests"),
        [
            query(overdue, "A", legend="超时 overdue", instant=True),
            query(due_soon, "B", legend="将超时 due soon", instant=True),
        ],
        steps=COUNT_ALARM_STEPS,
        background=True,
        description="Open requests past (overdue) or within 20% of (due soon) their acceptance or "
        "arrival standard. Red from one overdue request.",
    ).override_by_query("B", [thresholds_property(COUNT_WARN_STEPS)])
    return panel.span(4).height(6)


def stale_count() -> Builder[dm.Panel]:
    return (
        stat_panel(
            Title("停更数据流", "Stale feeds"),
            [query(f"count({stale_feeds(FEEDS)}) or vector(0)", "A", legend="停更 stale", instant=True)],
            steps=COUNT_ALARM_STEPS,
            background=True,
            description="Feeds of open facilities with no event or heartbeat for 5 minutes (see the table).",
        )
        .span(4)
        .height(6)
    )


def open_requests() -> Builder[dm.Panel]:
    expr = sharded_sum(c.REQUESTS_OPEN, by=("category", "stage"))
    matrix = dm.DataTransformerConfig(
        id_val="groupingToMatrix",
        options={"columnField": "stage", "rowField": "category", "valueField": "Value", "emptyValue": "zero"},
    )
    return (
        table_panel(
            Title("未完成高危申请", "Open high-risk requests by category and stage"),
            [query(expr, "A", table_format=True)],
            transformations=[matrix],
            description="Open requests (not completed, rejected or cancelled) by category (rows) and "
            "furthest stage reached (columns). The per-request board is the wall page's.",
        )
        .mappings(labels.text_mappings(labels.CATEGORY_NAMES))
        .span(12)
        .height(8)
    )


def stale_table() -> Builder[dm.Panel]:
    return stale_feed_table(FEEDS).span(12).height(8)


def occupancy_trend(policy: Policy) -> Builder[dm.Panel]:
    return (
        time_panel(
            Title("床位使用率趋势", "Bed occupancy trend"),
            [
                query(n.OCCUPANCY_RATIO_COUNTY, "A", legend="全县 county"),
                query(named(county_hospitals(n.OCCUPANCY_RATIO_FACILITY)), "B", legend="{{name}}"),
            ],
            unit="percentunit",
            steps=occupancy_steps(policy),
            description="County occupancy and each county hospital's, with the 85/90/100% lines.",
        )
        .span(12)
        .height(7)
    )


def ed_arrivals() -> Builder[dm.Panel]:
    expr = named(county_hospitals(n.ED_ARRIVALS_LAST_HOUR_FACILITY))
    return (
        time_panel(
            Title("急诊近1小时到达", "ED arrivals in the last hour"),
            [query(expr, "A", legend="{{name}}")],
            description="Emergency arrivals in the past 60 minutes per county hospital.",
        )
        .span(12)
        .height(7)
    )


def overview(uid: str, facility_uid: str, policy: Policy) -> Dashboard:
    """The overview dashboard; `facility_uid` is the drill-down the hospital tiles link to."""
    panels = [
        occupancy_by_hospital(facility_uid, policy),
        free_beds(policy),
        alliance_escalation(policy),
        bed_runway(policy),
        visits_today(policy),
        escalation_by_hospital(facility_uid),
        ed_patients(policy),
        overdue_requests(),
        stale_count(),
        open_requests(),
        stale_table(),
        occupancy_trend(policy),
        ed_arrivals(),
    ]
    board = new_board(NAME, uid, tags=("wall",)).refresh(REFRESH)
    for panel in panels:
        board = board.with_panel(panel)
    return board


def _drill_down(facility_uid: str) -> DashboardLink:
    return DashboardLink("打开医院 Open facility").url(
        f"/d/{facility_uid}?var-facility=${{__field.labels.facility}}"
    )
