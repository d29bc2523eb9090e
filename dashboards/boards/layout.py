"""Panel building blocks shared by the dashboards (grafana-foundation-sdk builders).

    >>> panel = stat_panel(Title("空余床位", "Free beds"), [query("sum(x)", "A")], unit="none")
    >>> panel.build().title
    '空余床位 / Free beds'

Titles are Chinese first with the English after a slash (Grafana panels have no subtitle); the
description carries the English explanation shown on hover. Every panel reads the provisioned
Prometheus datasource by its fixed uid.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from grafana_foundation_sdk.builders import bargauge, common, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink, FieldColor, ThresholdsConfig
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    BigValueTextMode,
    GraphThresholdsStyleMode,
    LegendDisplayMode,
    LegendPlacement,
    StackingMode,
    VizOrientation,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from schemas.policy import Policy

UID_PREFIX: Final = "medalliance-"
MAX_UID_LENGTH: Final = 40  # Grafana's limit for a dashboard uid
STALE_LEGEND: Final = " ⚠ 停更 stale"
BOARD_TAG: Final = "medalliance"
DATASOURCE_UID: Final = "medalliance-prometheus"
DATASOURCE: Final = dm.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
# A stale number is drawn in this grey, whatever its thresholds say: it must never look current.
STALE_COLOR: Final = "#8e8e8e"
Steps = Sequence[tuple[float | None, str]]
# Any overdue request is loud: red from one.
COUNT_ALARM_STEPS: Final[Steps] = ((None, "green"), (1, "red"))
COUNT_WARN_STEPS: Final[Steps] = ((None, "green"), (1, "orange"))
NEUTRAL_STEPS: Final[Steps] = ((None, "blue"),)
# Counts default to 0 when absent (EVENTS.md: an absent series means 0); ratios and levels do not.
NO_DATA: Final = "无数据 no data"


@dataclass(frozen=True, slots=True)
class Title:
    """A bilingual panel title: Chinese for the wall, English for everyone else."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


def query(
    expr: str, ref: str, *, legend: str = "", instant: bool = False, table_format: bool = False
) -> prometheus.Dataquery:
    """A Prometheus target on the provisioned datasource."""
    target = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    if legend:
        target = target.legend_format(legend)
    # Tables and big numbers want the value now; trends want the range.
    target = target.instant() if instant or table_format else target.range()
    if table_format:
        target = target.format(PromQueryFormat.TABLE)
    return target


def new_board(name: Title, uid: str, *, tags: Sequence[str] = ()) -> Dashboard:
    """A dashboard with the shared settings: uid, tags, 6 h window, shared crosshair, browser time."""
    return (
        Dashboard(str(name))
        .uid(uid)
        .description(name.en)
        .tags([BOARD_TAG, *tags])
        .time("now-6h", "now")
        .timezone("browser")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .readonly()
        .link(
            DashboardLink("医共体看板 MedAlliance dashboards")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags([BOARD_TAG])
            .as_dropdown(True)
            .keep_time(True)
            .include_vars(False)
        )
    )


def occupancy_steps(policy: Policy) -> Steps:
    """The policy's display bands: amber, orange, red (corridor beds)."""
    low, mid, high = policy.occupancy.display.values()
    return ((None, "green"), (low, "yellow"), (mid, "orange"), (high, "red"))


def thresholds_property(steps: Steps) -> dm.DynamicConfigValue:
    """Thresholds as an override property (a plain dict: overrides are free-form JSON)."""
    value = {"mode": "absolute", "steps": [{"value": value, "color": color} for value, color in steps]}
    return dm.DynamicConfigValue(id_val="thresholds", value=value)


def thresholds(steps: Steps) -> ThresholdsConfig:
    return (
        ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=color) for value, color in steps])
    )


def value_text(mapping: dict[str, tuple[str, str]]) -> list[dm.ValueMapping]:
    """Value -> (text, colour) mappings, e.g. escalation levels and category names."""
    options = {
        key: dm.ValueMappingResult(text=text, color=color or None, index=index)
        for index, (key, (text, color)) in enumerate(mapping.items())
    }
    return [dm.ValueMap(options=options)]


def renames(mapping: dict[str, str]) -> list[dm.DataTransformerConfig]:
    """Rename series by regex (label values such as `chest_pain` -> `胸痛 chest pain`)."""
    return [
        dm.DataTransformerConfig(id_val="renameByRegex", options={"regex": pattern, "renamePattern": text})
        for pattern, text in mapping.items()
    ]


def board_uid(name_en: str) -> str:
    """A stable uid derived from the English name: 'Alliance overview' -> 'medalliance-alliance-overview';
    past Grafana's 40 characters, whole words are dropped from the end (never a word cut in half)."""
    uid = UID_PREFIX + re.sub(r"[^a-z0-9]+", "-", name_en.lower()).strip("-")
    while len(uid) > MAX_UID_LENGTH and "-" in uid[len(UID_PREFIX) :]:
        uid = uid.rsplit("-", 1)[0]
    return uid[:MAX_UID_LENGTH]


def stale_properties() -> list[dm.DynamicConfigValue]:
    """A stale query's fields: grey whatever the thresholds say (its legend says 'stale')."""
    grey = {"mode": "absolute", "steps": [{"value": None, "color": STALE_COLOR}]}
    return [
        dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": STALE_COLOR}),
        dm.DynamicConfigValue(id_val="thresholds", value=grey),
    ]


def age_properties(stale_after: float) -> list[dm.DynamicConfigValue]:
    """A data-age field: seconds, green while fresh, red once past the stale threshold."""
    steps = {
        "mode": "absolute",
        "steps": [{"value": None, "color": "green"}, {"value": stale_after, "color": "red"}],
    }
    return [
        dm.DynamicConfigValue(id_val="unit", value="s"),
        dm.DynamicConfigValue(id_val="decimals", value=0),
        dm.DynamicConfigValue(id_val="thresholds", value=steps),
        dm.DynamicConfigValue(id_val="color", value={"mode": "thresholds"}),
    ]


def fixed_color(color: str) -> list[dm.DynamicConfigValue]:
    return [dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": color})]


def stat_panel(
    title: Title,
    targets: Sequence[prometheus.Dataquery],
    *,
    unit: str = "none",
    steps: Steps = NEUTRAL_STEPS,
    description: str = "",
    background: bool = False,
    no_value: str = "0",
) -> stat.Panel:
    """A big number (or one per series), last value, no sparkline: readable across the room."""
    panel = (
        stat.Panel()
        .title(str(title))
        .description(description or title.en)
        .datasource(DATASOURCE)
        .unit(unit)
        .thresholds(thresholds(steps))
        .color_scheme(_threshold_colors())
        .color_mode(BigValueColorMode.BACKGROUND if background else BigValueColorMode.VALUE)
        .graph_mode(BigValueGraphMode.NONE)
        .text_mode(BigValueTextMode.VALUE_AND_NAME)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .no_value(no_value)
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def bar_panel(
    title: Title,
    targets: Sequence[prometheus.Dataquery],
    *,
    unit: str = "none",
    steps: Steps = NEUTRAL_STEPS,
    description: str = "",
) -> bargauge.Panel:
    """Horizontal bars, one per series (counts by category, stage, facility)."""
    panel = (
        bargauge.Panel()
        .title(str(title))
        .description(description or title.en)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .thresholds(thresholds(steps))
        .display_mode(BarGaugeDisplayMode.BASIC)
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .no_value("0")
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def time_panel(
    title: Title,
    targets: Sequence[prometheus.Dataquery],
    *,
    unit: str = "none",
    description: str = "",
    steps: Steps | None = None,
    stacked: bool = False,
) -> timeseries.Panel:
    """A trend with the legend as a table on the right (values readable without hovering)."""
    panel = (
        timeseries.Panel()
        .title(str(title))
        .description(description or title.en)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .line_width(2)
        .fill_opacity(10)
        .legend(
            common.VizLegendOptions()
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    if steps is not None:
        panel = panel.thresholds(thresholds(steps)).thresholds_style(
            common.GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.LINE)
        )
    if stacked:
        panel = panel.stacking(common.StackingConfig().mode(StackingMode.NORMAL))
    for target in targets:
        panel = panel.with_target(target)
    return panel


def table_panel(
    title: Title,
    targets: Sequence[prometheus.Dataquery],
    *,
    description: str = "",
    transformations: Sequence[dm.DataTransformerConfig] = (),
) -> table.Panel:
    """A table of instant queries, merged on their labels."""
    panel = (
        table.Panel()
        .title(str(title))
        .description(description or title.en)
        .datasource(DATASOURCE)
        .filterable(False)
    )
    for target in targets:
        panel = panel.with_target(target)
    for transformation in transformations:
        panel = panel.with_transformation(transformation)
    return panel


def merge_and_organize(
    renamed: dict[str, str], hidden: Sequence[str] = ("Time",)
) -> list[dm.DataTransformerConfig]:
    """Merge instant-table queries into one table, hide bookkeeping columns, rename the rest."""
    exclude = dict.fromkeys(hidden, True)
    order = {name: index for index, name in enumerate(renamed)}
    return [
        dm.DataTransformerConfig(id_val="merge", options={}),
        dm.DataTransformerConfig(
            id_val="organize",
            options={"excludeByName": exclude, "indexByName": order, "renameByName": renamed},
        ),
    ]


def _threshold_colors() -> FieldColor:
    return FieldColor().mode(dm.FieldColorModeId.THRESHOLDS)
