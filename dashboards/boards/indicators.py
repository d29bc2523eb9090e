"""The alliance's indicators on the referrals dashboard: 基层诊疗量占比 today, this month and over the
last 24 hours against the policy's target, and what the alliance's events cannot give.

    >>> [panel.build().title for panel in indicator_panels(shipped_policy())][0]
    '基层诊疗量占比 / Primary-care share of visits (alliance proxy)'

The share is the alliance-only proxy (docs/indicators.md): the county's non-alliance facilities are
not in the feed. The figures are the recording rules of dashboards/alerts/referrals.py.
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders import text
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.text import TextMode

from dashboards.boards.layout import (
    DATASOURCE,
    NO_DATA,
    Steps,
    Title,
    fixed_color,
    query,
    stat_panel,
    time_panel,
)
from schemas import rules as n
from schemas.policy import Policy

TARGET_LEGEND: Final = "目标 target"
TARGET_COLOR: Final = "#8e8e8e"

# Named, not faked: these need data the alliance's own events do not carry (docs/indicators.md).
NOT_COMPUTED: Final = """\
**不能由医共体事件计算的指标 / What the alliance's events cannot give**

- **县域就诊率** (share of the county's residents' visits made in the county) and **县域内住院人次占比 /
  县域内住院率** (share of their admissions made in the county) need the residents treated *outside* the
  county, which only the medical-insurance settlement data (医保结算数据) holds.
- **基层诊疗量占比** is counted here over the alliance's facilities only: the county's other primary and
  non-primary facilities (private clinics, other hospitals) are not in the feed, so the figure above is a
  **proxy**, not the commission's number.
- Referrals out of the county (转外 out of county) are counted as the alliance sends them; referrals a
  resident takes on their own are not seen.

Formulas, sources and PromQL: `docs/indicators.md`.
"""


def share_steps(policy: Policy) -> Steps:
    """Red below the policy's target, green from it."""
    return ((None, "red"), (policy.indicators.primary_care_share_target, "green"))


def share_now(policy: Policy) -> Builder[dm.Panel]:
    return (
        stat_panel(
            Title("基层诊疗量占比", "Primary-care share of visits (alliance proxy)"),
            [
                query(n.PRIMARY_CARE_SHARE_TODAY, "A", legend="今日 today", instant=True),
                query(n.PRIMARY_CARE_SHARE_MONTH, "B", legend="本月 month to date", instant=True),
                query(n.PRIMARY_CARE_SHARE_TARGET, "C", legend=TARGET_LEGEND, instant=True),
            ],
            unit="percentunit",
            steps=share_steps(policy),
            description="Visits (outpatient and emergency) at the alliance's township health centers and "
            "village clinics over all the alliance's visits, today and this month (local dates), against "
            "the target of 国办发〔2015〕70号 (>= 65%). A proxy: the county's other facilities are not in "
            "the feed. No visits yet: no answer.",
            no_value=NO_DATA,
        )
        .override_by_query("C", fixed_color(TARGET_COLOR))
        .span(8)
        .height(7)
    )


def share_over_time(policy: Policy) -> Builder[dm.Panel]:
    return (
        time_panel(
            Title("基层诊疗量占比趋势", "Primary-care share over time"),
            [
                query(n.PRIMARY_CARE_SHARE_TRAILING_DAY, "A", legend="近24小时 last 24 h"),
                query(n.PRIMARY_CARE_SHARE_MONTH, "B", legend="本月 month to date"),
                query(n.PRIMARY_CARE_SHARE_TARGET, "C", legend=TARGET_LEGEND),
            ],
            unit="percentunit",
            steps=share_steps(policy),
            description="The primary-care share of the alliance's visits over the 24 hours before each "
            "point (no midnight reset) and month to date, against its target.",
        )
        .max(1)
        .override_by_query("C", fixed_color(TARGET_COLOR))
        .span(16)
        .height(7)
    )


def not_computed() -> Builder[dm.Panel]:
    return (
        text.Panel()
        .title(str(Title("指标说明", "What cannot be computed here")))
        .description("Indicators the commission counts that need data outside the alliance's events.")
        .datasource(DATASOURCE)
        .mode(TextMode.MARKDOWN)
        .content(NOT_COMPUTED)
        .span(12)
        .height(7)
    )


def indicator_panels(policy: Policy) -> list[Builder[dm.Panel]]:
    """The share now and over time: one row."""
    return [share_now(policy), share_over_time(policy)]
