"""The five centers' panels of the 五大中心 dashboard: clinical clocks running late now, and each
center's share of cases within standard over the policy's window against its target.

    >>> [panel.build().title for panel in center_panels(shipped_policy())][0]
    '临床时钟 / Clinical clocks late now'

The figures are the recording rules of dashboards/alerts/centers.py (the pages read the same);
the per-case clocks are the wall page's.
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.boards.layout import (
    COUNT_ALARM_STEPS,
    COUNT_WARN_STEPS,
    Title,
    merge_and_organize,
    query,
    stat_panel,
    table_panel,
    thresholds_property,
)
from dashboards.boards.queries import named
from schemas import rules as n
from schemas.policy import Policy

SHARE: Final = "达标率 within standard"
TARGET: Final = "目标 target"
BREACHES: Final = "超时 breaches"


def _total(rule: str) -> str:
    return f"sum({rule}) or vector(0)"  # EVENTS.md: an absent count is 0


def clocks_late() -> Builder[dm.Panel]:
    """Open cases whose clock is past the due-soon share or the standard, all centers (0 when none)."""
    return (
        stat_panel(
            Title("临床时钟", "Clinical clocks late now"),
            [
                query(
                    f"sum({n.CASE_CLOCKS_OVERDUE_FACILITY}) or vector(0)",
                    "A",
                    legend="超时 overdue",
                    instant=True,
                ),
                query(
                    f"sum({n.CASE_CLOCKS_DUE_SOON_FACILITY}) or vector(0)",
                    "B",
                    legend="将超时 due soon",
                    instant=True,
                ),
            ],
            steps=COUNT_ALARM_STEPS,
            description="Running clinical intervals of open cases past their standard (red) or the policy's "
            "due-soon share of it (amber), all five centers; the cases are on the wall page.",
        )
        .override_by_query("B", [thresholds_property(COUNT_WARN_STEPS)])
        .span(6)
        .height(6)
    )


def compliance(policy: Policy) -> Builder[dm.Panel]:
    days = policy.centers.compliance_window_days
    share = named(n.CASE_COMPLIANCE_FACILITY)
    # The target beside each center's share: one target per (category, interval), many centers.
    per_center = f"(0 * {n.CASE_COMPLIANCE_FACILITY} + 1)"
    target = f"{n.CASE_COMPLIANCE_TARGET} * on (category, interval) group_right () {per_center}"
    columns = {"name": "机构 center", "category": "中心 center type", "interval": "指标 interval",
               "Value #A": SHARE, "Value #B": TARGET, "Value #C": BREACHES}  # fmt: skip
    hidden = ("Time", "facility", "name_en", "level", "township", "job")
    return (
        table_panel(
            Title(f"{days}天达标率", f"Within standard, {days} days"),
            [
                query(share, "A", table_format=True),
                query(target, "B", table_format=True),
                query(n.CASE_BREACHES_FACILITY, "C", table_format=True),
            ],
            transformations=merge_and_organize(columns, hidden),
            description="Share of each center's completed intervals within the policy's standard over "
            f"{days} days, its target (none: tracked) and the breaches; certification counts it monthly.",
        )
        .override_by_name(SHARE, [dm.DynamicConfigValue(id_val="unit", value="percentunit")])
        .override_by_name(TARGET, [dm.DynamicConfigValue(id_val="unit", value="percentunit")])
        .span(18)
        .height(8)
    )


def bypass(policy: Policy) -> Builder[dm.Panel]:
    days = policy.centers.compliance_window_days
    per_center = f"(0 * {n.CASE_BYPASS_SHARE_FACILITY} + 1)"
    target = f"{n.CASE_BYPASS_TARGET} * on (category, standard) group_right () {per_center}"
    columns = {"name": "机构 center", "standard": "指标 standard", "Value #A": SHARE, "Value #B": TARGET}
    hidden = ("Time", "facility", "name_en", "level", "township", "job", "category")
    return (
        table_panel(
            Title(f"{days}天绕行比例", f"Bypass shares, {days} days"),
            [
                query(named(n.CASE_BYPASS_SHARE_FACILITY), "A", table_format=True),
                query(target, "B", table_format=True),
            ],
            transformations=merge_and_organize(columns, hidden),
            description="Primary-PCI STEMI brought by ambulance or transferred that went past the ED and "
            "the CCU to the cath lab, and self-presenting ones past the CCU, against the certification's "
            "targets.",
        )
        .override_by_name(SHARE, [dm.DynamicConfigValue(id_val="unit", value="percentunit")])
        .override_by_name(TARGET, [dm.DynamicConfigValue(id_val="unit", value="percentunit")])
        .span(24)
        .height(6)
    )


def center_panels(policy: Policy) -> list[Builder[dm.Panel]]:
    return [clocks_late(), compliance(policy), bypass(policy)]
