"""The five centers (五大中心): live clinical clocks that page before the breach, and the compliance
the QC platforms count monthly, kept live over the policy's window (docs/centers.md).

    >>> [alert.name for alert in center_alerts(PRODUCTION, shipped_policy())]
    ['CaseClockDueSoon', 'CaseClockOverdue', 'CaseComplianceBelowTarget']

`interval` is a standard's id in the policy (`door_to_wire`, ...), `facility` the center whose door
counts. For intervals this short the due-soon point is the last moment to act, so it pages too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from dashboards.alerts.model import Alert, Bilingual, RecordingRule
from dashboards.alerts.profile import DAY, MINUTE, Profile
from schemas import metrics as c
from schemas import rules as n
from schemas.policy import Policy
from schemas.promql import selector, sharded_rate_sum, sharded_sum, with_facility_names

BY: Final = ("category", "interval", "facility")
# A window of weeks read every 15 s would scan weeks of samples each time: evaluated every 5 min.
WINDOW_GROUP_SECONDS: Final = 5 * MINUTE

NAME_ZH = "{{ $labels.name }}"
NAME_EN = "{{ $labels.name_en }}"
WHAT = "{{ $labels.category }} / {{ $labels.interval }}"
COUNT = '{{ printf "%.0f" $value }}'


def _static(values: Iterable[tuple[dict[str, str], float]]) -> str:
    """A vector of the policy's numbers, one series per label set: `or` of labelled `vector(x)`."""
    parts = []
    for labels, value in values:
        expr = f"vector({value:g})"
        for name, label in labels.items():
            expr = f'label_replace({expr}, "{name}", "{label}", "", "")'
        parts.append(expr)
    return " or ".join(parts)


def _increase(series: str, window: str) -> str:
    return f"sum by ({', '.join(BY)}) (increase({series}[{window}]))"


def clock_rules() -> list[RecordingRule]:
    return [
        RecordingRule(n.CASE_CLOCKS_DUE_SOON_FACILITY, sharded_sum(c.CASE_CLOCKS_DUE_SOON, by=BY)),
        RecordingRule(n.CASE_CLOCKS_OVERDUE_FACILITY, sharded_sum(c.CASE_CLOCKS_OVERDUE, by=BY)),
    ]


def standard_rules(policy: Policy) -> list[RecordingRule]:
    """The policy's standards and targets as series, so dashboards and the wall draw them beside the
    figures and a compliance ticket compares within PromQL."""
    intervals = policy.centers.intervals
    targets = [({"category": s.category, "interval": s.id}, s.target) for s in intervals if s.target]
    bypass = [({"category": s.category, "standard": s.id}, s.target) for s in policy.centers.bypass]
    seconds = [({"category": s.category, "interval": s.id}, s.minutes * 60) for s in intervals]
    rules = [RecordingRule(n.CASE_STANDARD_SECONDS, _static(seconds))]
    if targets:
        rules.append(RecordingRule(n.CASE_COMPLIANCE_TARGET, _static(targets)))
    if bypass:
        rules.append(RecordingRule(n.CASE_BYPASS_TARGET, _static(bypass)))
    return rules


def window_rules(profile: Profile, policy: Policy) -> list[RecordingRule]:
    """Compliance, breaches and bypass shares over the policy's window (30 days shipped)."""
    window = profile.window(policy.centers.compliance_window_days * DAY)
    within = sharded_rate_sum(c.CASE_INTERVALS_WITHIN, window, by=BY)
    done = sharded_rate_sum(c.CASE_INTERVAL_SECONDS, window, by=BY, suffix="_count")
    done_increase = _increase(selector(c.CASE_INTERVAL_SECONDS, suffix="_count"), window)
    within_increase = _increase(selector(c.CASE_INTERVALS_WITHIN), window)
    bypass_by = ("category", "standard", "facility")
    bypassed = sharded_rate_sum(c.CASE_BYPASS, window, 'bypassed="true"', by=bypass_by)
    counted = sharded_rate_sum(c.CASE_BYPASS, window, by=bypass_by)
    return [
        RecordingRule(n.CASE_COMPLIANCE_FACILITY, f"({within} or 0 * {done}) / ({done} > 0)"),
        # Completed minus within: an interval with no breach records 0, not an absent series.
        RecordingRule(
            n.CASE_BREACHES_FACILITY,
            f"round({done_increase} - ({within_increase} or 0 * {done_increase}))",
        ),
        RecordingRule(n.CASE_BYPASS_SHARE_FACILITY, f"({bypassed} or 0 * {counted}) / ({counted} > 0)"),
    ]


def center_groups(profile: Profile, policy: Policy) -> dict[str, list[RecordingRule]]:
    return {
        "medalliance.centers": [*clock_rules(), *standard_rules(policy)],
        "medalliance.centers.window": window_rules(profile, policy),
    }


def center_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    share = f"{policy.centers.due_soon_share:.0%}"
    days = policy.centers.compliance_window_days
    window = profile.window(days * DAY)
    count = _increase(selector(c.CASE_INTERVAL_SECONDS, suffix="_count"), window)
    below = (
        f"{n.CASE_COMPLIANCE_FACILITY} < on (category, interval) group_left () {n.CASE_COMPLIANCE_TARGET}"
        f" and on ({', '.join(BY)}) {count} >= {policy.centers.compliance_min_cases}"
    )
    return [
        Alert(
            "CaseClockDueSoon",
            with_facility_names(f"{n.CASE_CLOCKS_DUE_SOON_FACILITY} > 0"),
            # 0s: for a 10-minute interval the due-soon share leaves 2 minutes; any wait eats them.
            profile.for_(0),
            "page",
            "warning",
            Bilingual(
                f"{NAME_ZH} {COUNT} 例 {WHAT} 即将超时", f"{COUNT} case(s) at {NAME_EN}: {WHAT} due soon"
            ),
            Bilingual(
                f"{NAME_ZH} 有 {COUNT} 例 {WHAT} 已用去标准时间的 {share} 以上，下一节点尚未完成："
                "现在是最后的处置时机。",
                f"{COUNT} open case(s) at {NAME_EN} have used over {share} of the {WHAT} standard without "
                "reaching its next milestone: the last moment to act.",
            ),
            inhibited_by=("CaseClockOverdue",),
            inhibit_equal=BY,
        ),
        Alert(
            "CaseClockOverdue",
            with_facility_names(f"{n.CASE_CLOCKS_OVERDUE_FACILITY} > 0"),
            profile.for_(0),  # the breach is exact and the patient is waiting
            "page",
            "critical",
            Bilingual(f"{NAME_ZH} {COUNT} 例 {WHAT} 已超时", f"{COUNT} case(s) at {NAME_EN}: {WHAT} overdue"),
            Bilingual(
                f"{NAME_ZH} 有 {COUNT} 例 {WHAT} 已超过标准时间，下一节点仍未完成，请立即协调。",
                f"{COUNT} open case(s) at {NAME_EN} are past the {WHAT} standard without reaching its next "
                "milestone: act now.",
            ),
        ),
        Alert(
            "CaseComplianceBelowTarget",
            with_facility_names(below),
            profile.for_(6 * 60 * MINUTE),  # a monthly figure: a ticket once it holds for a shift
            "ticket",
            "warning",
            Bilingual(
                f"{NAME_ZH} {WHAT} {days} 天达标率 {{{{ $value | humanizePercentage }}}}，低于目标",
                f"{NAME_EN}: {WHAT} within standard in {{{{ $value | humanizePercentage }}}} of cases over "
                f"{days} days, below target",
            ),
            Bilingual(
                f"{NAME_ZH} 近 {days} 天 {WHAT} 达标率 {{{{ $value | humanizePercentage }}}}，低于策略目标"
                f"（至少 {policy.centers.compliance_min_cases} 例时判断）；质控平台按月统计。",
                f"Over {days} days, {{{{ $value | humanizePercentage }}}} of {WHAT} intervals at {NAME_EN} "
                "were within standard, below the policy's target (judged from "
                f"{policy.centers.compliance_min_cases} cases); the QC platforms count it monthly.",
            ),
        ),
    ]
