"""Two-way referral (双向转诊) and the alliance's indicators: pending referrals per receiving ward, the
expired ones as a ticket for the receiver, and 基层诊疗量占比 (docs/indicators.md).

    >>> [alert.name for alert in referral_alerts(PRODUCTION, shipped_policy())]
    ['ReferralPendingExpired']

The primary-care share is the alliance-only proxy of the county's figure: visits at the alliance's
primary-level facilities (schemas.registry.PRIMARY_LEVELS) over all its visits. No visits, no answer:
a share of nothing is not 0%.
"""

from __future__ import annotations

from typing import Final

from dashboards.alerts.model import Alert, Bilingual, RecordingRule
from dashboards.alerts.profile import DAY, MINUTE, Profile
from schemas import metrics as c
from schemas import rules as n
from schemas.policy import Policy
from schemas.promql import registry_max, selector, sharded_sum, with_facility_names
from schemas.registry import PRIMARY_LEVELS

PRIMARY_MATCHER: Final = 'level=~"' + "|".join(PRIMARY_LEVELS) + '"'
# The directions an alliance receiver is ticketed for (an outside destination is never paged).
_TICKETED: Final = (("up", "上转"), ("lateral", "平转"), ("down", "下转"))

NAME_ZH = "{{ $labels.name }}"
NAME_EN = "{{ $labels.name_en }}"
COUNT = '{{ printf "%.0f" $value }}'


def referral_rules() -> list[RecordingRule]:
    return [
        # Keeps (facility, ward): joins `on (facility, ward)` to the ward's free beds.
        RecordingRule(n.REFERRALS_PENDING_FACILITY_WARD, sharded_sum(c.REFERRALS_PENDING)),
        RecordingRule(n.REFERRALS_EXPIRED_FACILITY, sharded_sum(c.REFERRALS_EXPIRED, by=("facility",))),
    ]


def primary_share(per_facility: str) -> str:
    """Primary-level facilities' part of a per-facility visit count; absent when there is none at all."""
    total = f"sum({per_facility})"
    primary_facilities = registry_max(c.FACILITY_INFO, PRIMARY_MATCHER, by=("facility",))
    primary = f"sum({per_facility} and on (facility) {primary_facilities})"
    return f"({primary} or 0 * {total}) / ({total} > 0)"


def indicator_rules(profile: Profile, policy: Policy) -> list[RecordingRule]:
    day = profile.window(DAY)
    # Increase per series before the sum, so a partition moving between workers is not a reset.
    trailing = f"sum by (facility) (increase({selector(c.VISITS)}[{day}]))"
    target = policy.indicators.primary_care_share_target
    return [
        RecordingRule(
            n.PRIMARY_CARE_SHARE_TODAY, primary_share(sharded_sum(c.VISITS_TODAY, by=("facility",)))
        ),
        RecordingRule(
            n.PRIMARY_CARE_SHARE_MONTH, primary_share(sharded_sum(c.VISITS_MONTH, by=("facility",)))
        ),
        RecordingRule(n.PRIMARY_CARE_SHARE_TRAILING_DAY, primary_share(trailing)),
        RecordingRule(n.PRIMARY_CARE_SHARE_TARGET, f"vector({target:g})"),
    ]


def referral_groups(profile: Profile, policy: Policy) -> dict[str, list[RecordingRule]]:
    return {
        "medalliance.referrals": referral_rules(),
        "medalliance.indicators": indicator_rules(profile, policy),
    }


def _hours(policy: Policy, direction: str) -> str:
    return f"{policy.referrals.pending_limit_minutes[direction] / 60:g}"  # type: ignore[index]


def referral_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    limits_en = ", ".join(f"{direction} {_hours(policy, direction)} h" for direction, _ in _TICKETED)
    limits_zh = "、".join(f"{zh} {_hours(policy, direction)} 小时" for direction, zh in _TICKETED)
    return [
        Alert(
            "ReferralPendingExpired",
            # The name join keeps the registry's facilities: an outside destination is not ticketed.
            with_facility_names(f"{n.REFERRALS_EXPIRED_FACILITY} > 0"),
            # 15 min: the limit itself is hours; an answer minutes after it need not open a ticket.
            profile.for_(15 * MINUTE),
            "ticket",
            "warning",
            Bilingual(
                f"{NAME_ZH} {COUNT} 例转诊超时未处理",
                f"{COUNT} referral(s) to {NAME_EN} pending past their limit",
            ),
            Bilingual(
                f"转往{NAME_ZH}的 {COUNT} 例转诊超过时限（{limits_zh}）仍未接收、拒绝或取消，已持续 15 分钟，"
                "请接收机构处理；待处理转诊及目标病区空床见双向转诊看板。",
                f"{COUNT} referral(s) to {NAME_EN} have been neither accepted, rejected nor cancelled within "
                f"the limit for their direction ({limits_en}) for 15 minutes: the receiving facility should "
                "answer them. The pending referrals and their wards' free beds are on the referrals "
                "dashboard.",
            ),
        ),
    ]
