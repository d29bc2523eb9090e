"""Alerts on care capacity and flow: wards, the county's beds, the ED, high-risk requests.

    >>> [alert.name for alert in care_alerts(PRODUCTION)][:2]
    ['WardOccupancyHigh', 'FacilityOverCapacity']

Thresholds are from DOMAIN.md and the settings defaults; each `for:` says why it is that long.
"""

from __future__ import annotations

from typing import Final

from dashboards.alerts import names as n
from dashboards.alerts.model import Alert, Bilingual
from dashboards.alerts.profile import HOUR, MINUTE, Profile
from dashboards.alerts.recording import RUNWAY_TARGET_RATIO
from dashboards.promql import selector, sharded_rate_sum, sharded_sum, with_facility_names
from streams.metrics import catalog as c
from streams.settings import Settings

WARD_FULL_RATIO: Final = 0.90  # DOMAIN.md: at >= 90% expect regular bed crises
SMALL_WARD_BEDS: Final = 10  # below this a percentage misleads (one patient = 10+ points)
SMALL_WARD_FREE_BEDS: Final = 1  # ...so small wards alert on free beds: one or none left
OVER_CAPACITY_RATIO: Final = 1.0  # above 100%: corridor beds (加床)
RUNWAY_SHORT_HOURS: Final = 4.0  # the issue: hours to 95% < 4
ED_SURGE_FACTOR: Final = 2.0  # "far above": twice the same hour yesterday / last week, whichever is higher
ED_SURGE_FLOOR: Final = 20  # arrivals/hour never counted as a surge (also the rule while history is short)
ED_LONG_STAY_HOURS: Final = Settings.model_fields["ed_long_stay_hours"].default
LWBS_RATIO: Final = 0.05  # DOMAIN.md: left without being seen >= 5% is ED crowding
LWBS_WINDOW: Final = 2 * HOUR
LWBS_MIN_DEPARTURES: Final = 20  # below this a single walk-out would read as a crisis
LWBS = 'disposition="left_without_being_seen"'
DUE_SOON_SHARE: Final = f"{Settings.model_fields['due_soon_fraction'].default:.0%}"  # the worker's default

NAME_ZH = "{{ $labels.name }}"
NAME_EN = "{{ $labels.name_en }}"
RATIO = "{{ $value | humanizePercentage }}"
COUNT = '{{ printf "%.0f" $value }}'


def _to_facility(expr: str) -> str:
    return f'label_replace({expr}, "facility", "$1", "to_facility", "(.*)")'


def bed_alerts(profile: Profile) -> list[Alert]:
    ratio, staffed, free = n.OCCUPANCY_RATIO_WARD, n.BEDS_STAFFED_WARD, n.BEDS_FREE_WARD
    large = f"({ratio} >= {WARD_FULL_RATIO} and on (facility, ward) {staffed} >= {SMALL_WARD_BEDS})"
    small = (
        f"({ratio} and on (facility, ward) ({free} <= {SMALL_WARD_FREE_BEDS}"
        f" and on (facility, ward) {staffed} < {SMALL_WARD_BEDS}))"
    )
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
                f"（≥ 90%；不足 {SMALL_WARD_BEDS} 张床的病区按空床 ≤ {SMALL_WARD_FREE_BEDS} 张计）。",
                f"Ward {{{{ $labels.ward }}}} at {NAME_EN} has been at {RATIO} occupancy for 15 minutes "
                f"(>= 90%; wards under {SMALL_WARD_BEDS} beds: {SMALL_WARD_FREE_BEDS} or no free bed).",
            ),
            inhibited_by=("FacilityOverCapacity",),
            inhibit_equal=("facility",),
        ),
        Alert(
            "FacilityOverCapacity",
            with_facility_names(f"{n.OCCUPANCY_RATIO_FACILITY} > {OVER_CAPACITY_RATIO}"),
            profile.for_(15 * MINUTE),  # as for wards: sustained, not a census crossing an admission
            "page",
            "critical",
            Bilingual(
                f"{NAME_ZH} 床位超负荷（使用率 {RATIO}，已加床）",
                f"{NAME_EN} is over capacity ({RATIO} of staffed beds: corridor beds)",
            ),
            Bilingual(
                f"{NAME_ZH} 在床患者超过开放床位，使用率 {RATIO}，已持续 15 分钟。",
                f"{NAME_EN} has more inpatients than staffed beds ({RATIO}) for 15 minutes.",
            ),
        ),
        Alert(
            "CountyBedRunwayShort",
            f"{n.BED_RUNWAY_HOURS_COUNTY} < {RUNWAY_SHORT_HOURS}",
            profile.for_(15 * MINUTE),  # the trend must hold for a while before it is a forecast
            "page",
            "warning",
            Bilingual(
                '全县床位预计 {{ printf "%.1f" $value }} 小时内达到 95%',
                'County beds forecast to reach 95% occupancy in {{ printf "%.1f" $value }} h',
            ),
            Bilingual(
                f"按近一小时趋势（predict_linear），全县床位使用率将在 "
                f'{{{{ printf "%.1f" $value }}}} 小时内达到 {RUNWAY_TARGET_RATIO:.0%}'
                f"（阈值 {RUNWAY_SHORT_HOURS:.0f} 小时）。",
                "On the last hour's trend (predict_linear) county occupancy reaches "
                f"{RUNWAY_TARGET_RATIO:.0%} "
                f'in {{{{ printf "%.1f" $value }}}} h (threshold {RUNWAY_SHORT_HOURS:.0f} h).',
            ),
        ),
    ]


def ed_alerts(profile: Profile) -> list[Alert]:
    arrivals, baseline = n.ED_ARRIVALS_LAST_HOUR_FACILITY, n.ED_ARRIVALS_BASELINE_FACILITY
    # Event-time arrivals (a drained backlog of old events does not count) against the higher of the
    # same hour yesterday and last week; never below the floor, which alone applies until history exists.
    threshold = (
        f"(clamp_min({ED_SURGE_FACTOR} * {baseline}, {ED_SURGE_FLOOR})"
        f" or on (facility) (0 * {arrivals} + {ED_SURGE_FLOOR}))"
    )
    window = profile.window(LWBS_WINDOW)
    lwbs = (
        f"({sharded_rate_sum(c.ED_DEPARTURES, window, LWBS, by=('facility',))}"
        f" / {sharded_rate_sum(c.ED_DEPARTURES, window, by=('facility',))}) >= {LWBS_RATIO}"
        f" and on (facility) sum by (facility) (increase({selector(c.ED_DEPARTURES)}[{window}]))"
        f" >= {LWBS_MIN_DEPARTURES}"
    )
    long_h = f"{ED_LONG_STAY_HOURS:g}"
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
                f"{ED_SURGE_FACTOR:g} 倍且不低于 {ED_SURGE_FLOOR} 人次，已持续 10 分钟。",
                f"{NAME_EN} had {COUNT} ED arrivals in the last hour (event time): over {ED_SURGE_FACTOR:g}x "
                f"the same hour yesterday / last week and at least {ED_SURGE_FLOOR}, for 10 minutes.",
            ),
        ),
        Alert(
            "EDOverCapacity",
            with_facility_names(f"{n.ED_OCCUPANCY_RATIO_FACILITY} > 1"),
            profile.for_(15 * MINUTE),
            "page",
            "critical",
            Bilingual(
                f"{NAME_ZH} 急诊患者数超过急诊床位（{RATIO}）",
                f"More ED patients than ED beds at {NAME_EN} ({RATIO})",
            ),
            Bilingual(
                f"{NAME_ZH} 急诊在室患者为急诊床位的 {RATIO}，已持续 15 分钟。",
                f"{NAME_EN} has ED patients at {RATIO} of its ED beds for 15 minutes.",
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
                f"{NAME_ZH} 近 2 小时急诊离开患者中 {RATIO} 未经诊治即离开"
                f"（阈值 5%，至少 {LWBS_MIN_DEPARTURES} 人次）。",
                f"Over the last 2 h, {RATIO} of ED departures at {NAME_EN} left without being seen "
                f"(threshold 5%, at least {LWBS_MIN_DEPARTURES} departures).",
            ),
        ),
    ]


def request_alerts(profile: Profile) -> list[Alert]:
    by = ("category", "stage", "to_facility")
    due = with_facility_names(_to_facility(f"{sharded_sum(c.REQUESTS_DUE_SOON, by=by)} > 0"))
    overdue = with_facility_names(_to_facility(f"{sharded_sum(c.REQUESTS_OVERDUE, by=by)} > 0"))
    what_zh = "{{ $labels.category }} 类高危申请（环节 {{ $labels.stage }}，接收方 " + NAME_ZH + "）"
    what_en = "{{ $labels.category }} request(s) to " + NAME_EN + " for stage {{ $labels.stage }}"
    return [
        Alert(
            "RequestDueSoon",
            due,
            # 0s: the due-soon window is 20% of the standard (2 min for acceptance); any wait eats it.
            profile.for_(0),
            "ticket",
            "warning",
            Bilingual(f"{COUNT} 个{what_zh}即将超时", f"{COUNT} {what_en} due soon"),
            Bilingual(
                f"{COUNT} 个{what_zh}已用去时限的 {DUE_SOON_SHARE} 以上，尚未到达该环节。",
                f"{COUNT} open {what_en} have used over {DUE_SOON_SHARE} of the time standard"
                " without reaching it.",
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


def care_alerts(profile: Profile) -> list[Alert]:
    return [*bed_alerts(profile), *ed_alerts(profile), *request_alerts(profile)]
