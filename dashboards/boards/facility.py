"""医院详情 / Facility drill-down: wards, emergency department and feeds of one facility ($facility).

    >>> facility("medalliance-facility").build().templating.list_val[0].name
    'facility'

The variable lists the registry (medalliance_facility_info): value the facility id, text its Chinese
name, so the wall's hospital tiles link here with `?var-facility=<id>`.
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard, QueryVariable
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.boards import labels
from dashboards.boards.feeds import feed_freshness
from dashboards.boards.layout import (
    COUNT_WARN_STEPS,
    DATASOURCE,
    NO_DATA,
    Title,
    merge_and_organize,
    new_board,
    occupancy_steps,
    query,
    stat_panel,
    table_panel,
    thresholds_property,
    time_panel,
)
from dashboards.boards.overview import ESCALATION_STEPS
from dashboards.boards.queries import FACILITY_VARIABLE, named, stale_facilities
from dashboards.boards.stale import mark_stale, split_targets
from schemas import metrics as c
from schemas import rules as n
from schemas.policy import Policy
from schemas.promql import registry_max, sharded_rate_sum, sharded_sum

NAME: Final = Title("医院详情", "Facility")
THIS: Final = f'facility="${FACILITY_VARIABLE}"'
# Grafana turns `query_result(...)` rows into options; these named groups pick value and text.
VARIABLE_REGEX: Final = r'/facility="(?<value>[^"]+)".*\bname="(?<text>[^"]+)"/'
HOUR: Final = 3600


def facility_variable() -> QueryVariable:
    """$facility: every facility of the registry, shown by its Chinese name."""
    return (
        QueryVariable(FACILITY_VARIABLE)
        .label("机构 Facility")
        .datasource(DATASOURCE)
        .query(f"query_result({registry_max(c.FACILITY_INFO)})")
        .regex(VARIABLE_REGEX)
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .include_all(False)
        .multi(False)
    )


def _selected(metric: str) -> str:
    return f"{metric}{{{THIS}}}"


def headline(policy: Policy) -> list[Builder[dm.Panel]]:
    """Occupancy, free beds, visits today, ED census by triage, escalation: each grey when stale."""
    beds_stale, visits_stale = stale_facilities(("beds",)), stale_facilities(("visits",))
    occupancy = stat_panel(
        Title("床位使用率", "Bed occupancy"),
        split_targets(named(_selected(n.OCCUPANCY_RATIO_FACILITY)), beds_stale, legend="{{name}}"),
        unit="percentunit",
        steps=occupancy_steps(policy),
        background=True,
        no_value=NO_DATA,
    )
    free = stat_panel(
        Title("空余床位", "Free staffed beds"),
        split_targets(f"sum by (facility) ({_selected(n.BEDS_FREE_WARD)})", beds_stale, legend="空床 free"),
    )
    visits = stat_panel(
        Title("今日门急诊人次", "Visits today"),
        split_targets(
            sharded_sum(c.VISITS_TODAY, THIS, by=("facility", "kind")), visits_stale, legend="{{kind}}"
        ),
    ).transformations(labels.series_renames(labels.KIND_NAMES))
    ed = stat_panel(
        Title("急诊在院患者", "ED patients now"),
        split_targets(
            sharded_sum(c.ED_PATIENTS, THIS, by=("facility", "triage_level")),
            visits_stale,
            legend="{{triage_level}}",
        ),
    ).transformations(labels.series_renames(labels.TRIAGE_NAMES))
    escalation = stat_panel(
        Title("应急级别", "Escalation level"),
        split_targets(
            _selected(n.ESCALATION_LEVEL_FACILITY), stale_facilities(("beds", "visits")), legend="级别 level"
        ),
        steps=ESCALATION_STEPS,
        background=True,
        no_value="— 非县级医院 n/a",
        description="OPEL-style level 1-4; computed for county hospitals only.",
    ).mappings(labels.escalation_mappings())
    return [
        mark_stale(occupancy).span(4).height(5),
        mark_stale(free).span(4).height(5),
        mark_stale(visits).span(5).height(5),
        mark_stale(ed).span(7).height(5),
        mark_stale(escalation).span(4).height(5),
    ]


def wards(policy: Policy) -> Builder[dm.Panel]:
    """One row per ward: staffed, occupied, free and occupancy (counts matter for small wards)."""
    columns = {
        "ward": "病区 ward",
        "Value #A": "编制床位 staffed",
        "Value #B": "占用 occupied",
        "Value #C": "空床 free",
        "Value #D": "使用率 occupancy",
    }
    rules = (n.BEDS_STAFFED_WARD, n.BEDS_OCCUPIED_WARD, n.BEDS_FREE_WARD, n.OCCUPANCY_RATIO_WARD)
    targets = [
        query(_selected(rule), ref, table_format=True) for rule, ref in zip(rules, "ABCD", strict=True)
    ]
    occupancy_cells = [
        dm.DynamicConfigValue(id_val="unit", value="percentunit"),
        thresholds_property(occupancy_steps(policy)),
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"}),
    ]
    return (
        table_panel(
            Title("病区床位", "Wards"),
            targets,
            transformations=merge_and_organize(columns, ("Time", "facility", "job")),
            description="Per ward: staffed beds (latest census), occupied (census plus later movements), "
            "free, and occupancy coloured at 85/90/100%.",
        )
        .override_by_name("使用率 occupancy", occupancy_cells)
        .span(16)
        .height(9)
    )


def freshness(policy: Policy) -> Builder[dm.Panel]:
    return feed_freshness(THIS, policy).span(8).height(9)


def trends(policy: Policy) -> list[Builder[dm.Panel]]:
    emergency = f'{THIS}, kind="emergency"'
    visits = time_panel(
        Title("急诊人次趋势", "ED visits trend"),
        [
            query(
                f"{sharded_rate_sum(c.VISITS, '1h', emergency)} * {HOUR}", "A", legend="急诊/小时 per hour"
            ),
            query(
                sharded_sum(c.ED_ARRIVALS_LAST_HOUR, THIS, by=()),
                "B",
                legend="近1小时到达 arrivals last hour",
            ),
            query(sharded_sum(c.ED_PATIENTS, THIS, by=()), "C", legend="在院 in the ED"),
        ],
        description="Emergency visits per hour (counter rate), arrivals in the last 60 minutes and patients "
        "in the emergency department.",
    )
    occupancy = time_panel(
        Title("病区使用率趋势", "Ward occupancy trend"),
        [query(_selected(n.OCCUPANCY_RATIO_WARD), "A", legend="{{ward}}")],
        unit="percentunit",
        steps=occupancy_steps(policy),
    )
    return [visits.span(12).height(8), occupancy.span(12).height(8)]


def pressure() -> list[Builder[dm.Panel]]:
    long_stay = stat_panel(
        Title("急诊滞留超4小时", "ED stays over 4 h"),
        [
            query(
                f"{sharded_sum(c.ED_LONG_STAY, THIS, by=())} or vector(0)",
                "A",
                legend="滞留 long stay",
                instant=True,
            )
        ],
        steps=COUNT_WARN_STEPS,
        background=True,
    )
    to_here = f'to_facility="${FACILITY_VARIABLE}"'
    requests = stat_panel(
        Title("转入高危申请", "Open high-risk requests to this facility"),
        [
            query(
                sharded_sum(c.REQUESTS_OPEN, to_here, by=("category",)),
                "A",
                legend="{{category}}",
                instant=True,
            )
        ],
    ).transformations(labels.series_renames(labels.CATEGORY_NAMES))
    overdue = stat_panel(
        Title("转入申请超时", "Requests to this facility overdue"),
        [
            query(
                f"{sharded_sum(c.REQUESTS_OVERDUE, to_here, by=())} or vector(0)",
                "A",
                legend="超时 overdue",
                instant=True,
            ),
            query(
                f"{sharded_sum(c.REQUESTS_DUE_SOON, to_here, by=())} or vector(0)",
                "B",
                legend="将超时 due soon",
                instant=True,
            ),
        ],
        steps=((None, "green"), (1, "red")),
        background=True,
    ).override_by_query("B", [thresholds_property(COUNT_WARN_STEPS)])
    return [long_stay.span(6).height(6), requests.span(12).height(6), overdue.span(6).height(6)]


def facility(uid: str, policy: Policy) -> Dashboard:
    board = new_board(NAME, uid, tags=("drill-down",)).refresh("30s").with_variable(facility_variable())
    for panel in [*headline(policy), wards(policy), freshness(policy), *trends(policy), *pressure()]:
        board = board.with_panel(panel)
    return board
