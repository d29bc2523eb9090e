"""Alerts on care capacity and flow: wards, the county's beds, the ED, high-risk requests.

    >>> [alert.name for alert in care_alerts(PRODUCTION, shipped_policy())][:2]
    ['WardOccupancyHigh', 'FacilityOverCapacity']

Every threshold and window is the policy's (schemas/policy.yaml); each `for:` says why it is that long.
"""

from __future__ import annotations

from dashboards.alerts.model import Alert, Bilingual
from dashboards.alerts.profile import HOUR, MINUTE, Profile
from schemas import metrics as c
from schemas import rules as n
from schemas.policy import Policy
from schemas.promql import selector, sharded_rate_sum, sharded_sum, with_facility_names

LWBS = 'disposition="left_without_being_seen"'

NAME_ZH = "{{ $labels.name }}"
NAME_EN = "{{ $labels.name_en }}"
RATIO = "{{ $value | humanizePercentage }}"
COUNT = '{{ printf "%.0f" $value }}'


def _to_facility(expr: str) -> str:
    return f'label_replace({expr}, "facility", "$1", "to_facility", "(.*)")'


def bed_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    ratio, staffed, free = n.OCCUPANCY_RATIO_WARD, n.BEDS_STAFFED_WARD, n.BEDS_FREE_WARD
    occupancy = policy.occupancy
    small_beds, small_free = occupancy.small_ward_beds, occupancy.small_ward_free_beds
    page, over = f"{occupancy.page_ward:.0%}", f"{occupancy.page_facility:.0%}"
    large = f"({ratio} >= {occupancy.page_ward} and on (facility, ward) {staffed} >= {small_beds})"
    small = (
        f"({ratio} and on (facility, ward) ({free} <= {small_free}"
        f" and on (facility, ward) {staffed} < {small_beds}))"
    )
    target, short = f"{occupancy.runway_target:.0%}", f"{occupancy.runway_short_hours:g}"
    return [
        Alert(
            "WardOccupancyHigh",
            with_facility_names(f"{large} or {small}"),
            # 15 min: a discharge and an admission crossing each other is not a crisis; a full ward for 15 is.
            profile.for_(15 * MINUTE),
            "page",
            "warning",
            Bilingual(
                f"{NAME_ZH} {{{{ $labels.ward }}}} 病区床位紧张（使用率 {RATIO}）",
                f"Ward {{{{ $labels.ward }}}} at {NAME_EN} is nearly full ({RATIO} occupied)",
            ),
            Bilingual(
                f"{NAME_ZH} {{{{ $labels.ward }}}} 病区床位使用率 {RATIO} 已持续 15 分钟"
                f"（≥ {page}；不足 {small_beds} 张床的病区按空床 ≤ {small_free} 张计）。",
                f"Ward {{{{ $labels.ward }}}} at {NAME_EN} has been at {RATIO} occupancy for 15 minutes "
                f"(>= {page}; wards under {small_beds} beds: {small_free} or no free bed).",
            ),
            inhibited_by=("FacilityOverCapacity",),
            inhibit_equal=("facility",),
        ),
        Alert(
            "FacilityOverCapacity",
            with_facility_names(f"{n.OCCUPANCY_RATIO_FACILITY} > {occupancy.page_facility}"),
            profile.for_(15 * MINUTE),  # as for wards: sustained, not a census crossing an admission
            "page",
            "critical",
            Bilingual(
                f"{NAME_ZH} 床位超负荷（使用率 {RATIO}，已加床）",
                f"{NAME_EN} is over capacity ({RATIO} of staffed beds: corridor beds)",
            ),
            Bilingual(
                f"{NAME_ZH} 床位使用率 {RATIO}，超过 {over}（在床患者多于开放床位），已持续 15 分钟。",
                f"{NAME_EN} has been at {RATIO} of its staffed beds (over {over}: corridor beds) "
                "for 15 minutes.",
            ),
        ),
        Alert(
            "CountyBedRunwayShort",
            f"{n.BED_RUNWAY_HOURS_COUNTY} < {occupancy.runway_short_hours}",
            profile.for_(15 * MINUTE),  # the trend must hold for a while before it is a forecast
            "page",
            "warning",
            Bilingual(
                f'全县床位预计 {{{{ printf "%.1f" $value }}}} 小时内达到 {target}',
                f'County beds forecast to reach {target} occupancy in {{{{ printf "%.1f" $value }}}} h',
            ),
            Bilingual(
                f"按近一小时趋势（predict_linear），全县床位使用率将在 "
                f'{{{{ printf "%.1f" $value }}}} 小时内达到 {target}'
                f"（阈值 {short} 小时）。",
                "On the last hour's trend (predict_linear) county occupancy reaches "
                f'{target} in {{{{ printf "%.1f" $value }}}} h (threshold {short} h).',
            ),
        ),
    ]


def ed_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    arrivals, baseline = n.ED_ARRIVALS_LAST_HOUR_FACILITY, n.ED_ARRIVALS_BASELINE_FACILITY
    ed = policy.emergency
    factor, floor, over = f"{ed.surge_factor:g}", ed.surge_floor, f"{ed.page_over_beds:.0%}"
    lwbs_share, lwbs_hours, lwbs_min = (
        f"{ed.lwbs_ratio:.0%}",
        f"{ed.lwbs_seconds / HOUR:g}",
        ed.lwbs_min_departures,
    )
    # Event-time arrivals (a drained backlog of old events does not count) against the higher of the
    # same hour yesterday and last week; never below the floor, which alone applies until history exists.
    threshold = (
        f"(clamp_min({ed.surge_factor} * {baseline}, {floor}) or on (facility) (0 * {arrivals} + {floor}))"
    )
    window = profile.window(ed.lwbs_seconds)
    lwbs = (
        f"({sharded_rate_sum(c.ED_DEPARTURES, window, LWBS, by=('facility',))}"
        f" / {sharded_rate_sum(c.ED_DEPARTURES, window, by=('facility',))}) >= {ed.lwbs_ratio}"
        f" and on (facility) sum by (facility) (increase({selector(c.ED_DEPARTURES)}[{window}]))"
        f" >= {lwbs_min}"
    )
    long_h = f"{ed.long_stay_hours:g}"
    return [
        Alert(
            "EDSurge",
            with_facility_names(f"{arrivals} > on (facility) {threshold}"),
            profile.for_(10 * MINUTE),  # the count is already an hour's; 10 min more rules out a burst
            "page",
            "critical",
            Bilingual(
                f"{NAME_ZH} 急诊就诊激增（近一小时 {COUNT} 人次）",
                f"ED surge at {NAME_EN} ({COUNT} arrivals in the last hour)",
            ),
            Bilingual(
                f"{NAME_ZH} 急诊近一小时到达 {COUNT} 人次（按发生时间），超过昨日/上周同时段的 "
                f"{factor} 倍且不低于 {floor} 人次，已持续 10 分钟。",
                f"{NAME_EN} had {COUNT} ED arrivals in the last hour (event time): over {factor}x "
                f"the same hour yesterday / last week and at least {floor}, for 10 minutes.",
            ),
        ),
        Alert(
            "EDOverCapacity",
            with_facility_names(f"{n.ED_OCCUPANCY_RATIO_FACILITY} > {ed.page_over_beds}"),
            profile.for_(15 * MINUTE),
            "page",
            "critical",
            Bilingual(
                f"{NAME_ZH} 急诊患者数超过急诊床位（{RATIO}）",
                f"More ED patients than ED beds at {NAME_EN} ({RATIO})",
            ),
            Bilingual(
                f"{NAME_ZH} 急诊在室患者为急诊床位的 {RATIO}（阈值 {over}），已持续 15 分钟。",
                f"{NAME_EN} has ED patients at {RATIO} of its ED beds (threshold {over}) for 15 minutes.",
            ),
        ),
        Alert(
            "EDLongStays",
            with_facility_names(f"{n.ED_LONG_STAY_FACILITY} >= 1"),
            profile.for_(15 * MINUTE),
            "ticket",
            "warning",
            Bilingual(
                f"{NAME_ZH} 急诊滞留超过 {long_h} 小时的患者 {COUNT} 人",
                f"{COUNT} patients in the ED over {long_h} h at {NAME_EN}",
            ),
            Bilingual(
                f"{NAME_ZH} 有 {COUNT} 名患者在急诊停留超过 {long_h} 小时（按发生时间），已持续 15 分钟。",
                f"{NAME_EN} has {COUNT} patients in the ED for more than {long_h} h (event time), "
                "for 15 minutes.",
            ),
            inhibited_by=("EDOverCapacity",),
            inhibit_equal=("facility",),
        ),
        Alert(
            "EDLeftWithoutBeingSeenHigh",
            with_facility_names(lwbs),
            profile.for_(15 * MINUTE),  # the ratio is over 2 h already; 15 min confirms it is not a blip
            "ticket",
            "warning",
            Bilingual(
                f"{NAME_ZH} 急诊未就诊离开比例 {RATIO}",
                f"{RATIO} of ED patients left without being seen at {NAME_EN}",
            ),
            Bilingual(
                f"{NAME_ZH} 近 {lwbs_hours} 小时急诊离开患者中 {RATIO} 未经诊治即离开"
                f"（阈值 {lwbs_share}，至少 {lwbs_min} 人次）。",
                f"Over the last {lwbs_hours} h, {RATIO} of ED departures at {NAME_EN} left without being "
                f"seen (threshold {lwbs_share}, at least {lwbs_min} departures).",
            ),
        ),
    ]


def request_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    share = f"{policy.requests.due_soon_share:.0%}"
    by = ("category", "stage", "to_facility")
    due = with_facility_names(_to_facility(f"{sharded_sum(c.REQUESTS_DUE_SOON, by=by)} > 0"))
    overdue = with_facility_names(_to_facility(f"{sharded_sum(c.REQUESTS_OVERDUE, by=by)} > 0"))
    what_zh = "{{ $labels.category }} 类高危申请（环节 {{ $labels.stage }}，接收方 " + NAME_ZH + "）"
    what_en = "{{ $labels.category }} request(s) to " + NAME_EN + " for stage {{ $labels.stage }}"
    return [
        Alert(
            "RequestDueSoon",
            due,
            # 0s: the due-soon window is the last fifth of the standard (2 min for acceptance); any wait
            # eats it.
            profile.for_(0),
            "ticket",
            "warning",
            Bilingual(f"{COUNT} 个{what_zh}即将超时", f"{COUNT} {what_en} due soon"),
            Bilingual(
                f"{COUNT} 个{what_zh}已用去时限的 {share} 以上，尚未到达该环节。",
                f"{COUNT} open {what_en} have used over {share} of the time standard without reaching it.",
            ),
            inhibited_by=("RequestOverdue",),
            inhibit_equal=("facility", "category", "stage"),
        ),
        Alert(
            "RequestOverdue",
            overdue,
            # 1 min: the breach is exact, but a request accepted seconds later need not wake anyone.
            profile.for_(MINUTE),
            "page",
            "critical",
            Bilingual(f"{COUNT} 个{what_zh}已超时", f"{COUNT} {what_en} overdue"),
            Bilingual(
                f"{COUNT} 个{what_zh}已超过时限仍未到达该环节，请立即协调。",
                f"{COUNT} open {what_en} are past the time standard without reaching it: act now.",
            ),
        ),
    ]


def care_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    return [*bed_alerts(profile, policy), *ed_alerts(profile, policy), *request_alerts(profile, policy)]
