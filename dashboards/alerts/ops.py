"""Alerts on the data itself and the pipeline: stale feeds, rejected events, delay, workers,
source partitions that are not being consumed.

>>> [alert.name for alert in ops_alerts(PRODUCTION)][-1]
'Watchdog'
"""

from __future__ import annotations

from typing import Final

from dashboards.alerts import names as n
from dashboards.alerts.model import Alert, Bilingual
from dashboards.alerts.profile import MINUTE, Profile
from dashboards.promql import registry_max, selector, sharded_rate_sum, with_facility_names
from streams.metrics import catalog as c

FEED_STALE_SECONDS: Final = 5 * MINUTE  # heartbeats come every 60 s: five missed is a broken feed
VILLAGE_CLINIC: Final = "village_clinic"
# A clinic's system starts when staff arrive: no ticket until it has been open this long.
CLINIC_OPEN_GRACE: Final = 10 * MINUTE
REJECTED_RATIO: Final = 0.05
REJECTED_WINDOW: Final = 15 * MINUTE
REJECTED_MIN_EVENTS: Final = 5  # one bad message out of three is not a broken integration yet
DELAY_QUANTILE: Final = 0.95
DELAY_SECONDS: Final = 60
DELAY_WINDOW: Final = 5 * MINUTE
UNKNOWN_NAME: Final = ("未登记机构", "unregistered facility")
# A rebalance with table recovery takes ~20 s; a partition whose lag is unknown, or whose offset
# stands still with messages waiting, for this long is not being consumed.
CONSUMER_STALL: Final = 5 * MINUTE

NAME_ZH = "{{ $labels.name }}"
NAME_EN = "{{ $labels.name_en }}"


def _stale(level_matcher: str, open_gate: str) -> str:
    """Feeds silent past the threshold, plus facilities that never sent anything (feed="all")."""
    last_seen = n.FEED_LAST_SEEN_FACILITY_FEED
    facilities = registry_max(c.FACILITY_INFO, level_matcher, by=("facility",))
    silent = f"(time() - {last_seen}) > {FEED_STALE_SECONDS}"
    never = f'label_replace({facilities} unless on (facility) {last_seen}, "feed", "all", "", "")'
    return with_facility_names(
        f"(({silent}) or ({never})) and on (facility) ({open_gate}) and on (facility) {facilities}"
    )


def _text_stale(kind_zh: str, kind_en: str) -> tuple[Bilingual, Bilingual]:
    feed = "{{ $labels.feed }}"
    return (
        Bilingual(f"{kind_zh}{NAME_ZH} 数据中断（{feed}）", f"{kind_en} {NAME_EN}: feed {feed} is silent"),
        Bilingual(
            f"{NAME_ZH} 的 {feed} 数据流超过 {FEED_STALE_SECONDS // MINUTE} 分钟没有事件或心跳"
            "（feed=all：自服务有数据以来从未收到任何数据）。",
            f"No event or heartbeat from {NAME_EN} on feed {feed} for over "
            f"{FEED_STALE_SECONDS // MINUTE} min (feed=all: nothing ever received from it).",
        ),
    )


def feed_alerts(profile: Profile) -> list[Alert]:
    is_open = n.FACILITY_OPEN_FACILITY
    hospital_summary, hospital_description = _text_stale("医院", "Hospital")
    clinic_summary, clinic_description = _text_stale("村卫生站", "Village clinic")
    return [
        Alert(
            "FeedStaleHospital",
            # Hospitals publish around the clock (facility_open is always 1 for them).
            _stale(f'level!="{VILLAGE_CLINIC}"', f"{is_open} == 1"),
            profile.for_(MINUTE),  # the threshold already waited 5 min; 1 more rides out a rebalance
            "page",
            "critical",
            hospital_summary,
            hospital_description,
            inhibited_by=("WorkerDown",),
        ),
        Alert(
            "FeedStaleVillageClinic",
            _stale(
                f'level="{VILLAGE_CLINIC}"',
                f"min_over_time({is_open}[{profile.window(CLINIC_OPEN_GRACE)}]) == 1",
            ),
            profile.for_(10 * MINUTE),  # a ticket, never a page: worked in office hours
            "ticket",
            "warning",
            clinic_summary,
            clinic_description,
            inhibited_by=("WorkerDown",),
        ),
    ]


def _with_names_or_unregistered(expr: str) -> str:
    zh, en = UNKNOWN_NAME
    unknown = f'label_replace(label_replace({expr}, "name", "{zh}", "", ""), "name_en", "{en}", "", "")'
    return f"{with_facility_names(expr)} or on (facility) {unknown}"


def pipeline_alerts(profile: Profile) -> list[Alert]:
    window = profile.window(REJECTED_WINDOW)
    rejected = sharded_rate_sum(c.EVENTS_REJECTED, window, by=("facility",))
    accepted = sharded_rate_sum(c.FACILITY_EVENTS, window, by=("facility",))
    ratio = (
        f"({rejected} / (({rejected} + {accepted}) or {rejected})) > {REJECTED_RATIO}"
        f" and on (facility) sum by (facility) (increase({selector(c.EVENTS_REJECTED)}[{window}]))"
        f" >= {REJECTED_MIN_EVENTS}"
    )
    buckets = sharded_rate_sum(
        c.EVENT_DELAY, profile.window(DELAY_WINDOW), by=("feed", "le"), suffix="_bucket"
    )
    up = f'up{{job="{n.WORKER_JOB}"}}'
    return [
        Alert(
            "RejectedEventsHigh",
            _with_names_or_unregistered(ratio),
            profile.for_(5 * MINUTE),
            "ticket",
            "warning",
            Bilingual(
                f"{NAME_ZH} 被拒事件比例 {{{{ $value | humanizePercentage }}}}",
                f"{{{{ $value | humanizePercentage }}}} of events from {NAME_EN} are rejected",
            ),
            Bilingual(
                f"近 15 分钟 {NAME_ZH} 发送的事件中 {{{{ $value | humanizePercentage }}}} 被拒收（阈值 5%），"
                "原因见死信主题（medalliance dead-letter）。",
                f"Over 15 min, {{{{ $value | humanizePercentage }}}} of messages from {NAME_EN} were "
                "rejected (threshold 5%); the reasons are on the dead-letter topic.",
            ),
        ),
        Alert(
            "PipelineDelayHigh",
            f"histogram_quantile({DELAY_QUANTILE}, {buckets}) > {DELAY_SECONDS}",
            profile.for_(
                10 * MINUTE
            ),  # a drained backlog raises it briefly; only a lasting delay is a ticket
            "ticket",
            "warning",
            Bilingual(
                "{{ $labels.feed }} 数据流处理延迟 p95 {{ $value | humanizeDuration }}",
                "Feed {{ $labels.feed }}: event delay p95 is {{ $value | humanizeDuration }}",
            ),
            Bilingual(
                f"{{{{ $labels.feed }}}} 数据流事件从发生到处理的 p95 延迟超过 {DELAY_SECONDS} 秒，"
                "已持续 10 分钟；大屏数据滞后。",
                f"The p95 delay from occurred_at to processing on feed {{{{ $labels.feed }}}} has been over "
                f"{DELAY_SECONDS} s for 10 minutes: the wall is behind.",
            ),
        ),
        Alert(
            "WorkerDown",
            f"{up} == 0 or absent({up})",
            profile.for_(2 * MINUTE),  # a restart or rebalance takes ~20 s; two minutes is an outage
            "page",
            "critical",
            Bilingual("处理节点宕机 {{ $labels.instance }}", "Worker {{ $labels.instance }} is down"),
            Bilingual(
                "Prometheus 已 2 分钟无法抓取处理节点 {{ $labels.instance }}（无 instance：没有任何节点）；"
                "其分区的数据不再更新。",
                "Prometheus has not scraped worker {{ $labels.instance }} for 2 minutes (no instance: no "
                "worker at all); its partitions' figures are frozen.",
            ),
        ),
        Alert(
            "Watchdog",
            "vector(1)",
            profile.for_(0),
            "ticket",
            "warning",
            Bilingual("告警链路正常（看门狗）", "Alerting pipeline is alive (watchdog)"),
            Bilingual(
                "此告警始终触发，用于证明 Prometheus → Alertmanager → 通知链路畅通；收不到它才是故障。",
                "Always firing, to prove Prometheus -> Alertmanager -> receivers works; its absence is "
                "the failure (route it to a dead man's switch).",
            ),
        ),
    ]


def consumer_alerts(profile: Profile) -> list[Alert]:
    """A source partition a worker owns but does not consume: its figures freeze without a sound
    (the feeds of its facilities would look stale, wrongly blaming the hospitals)."""
    minutes = CONSUMER_STALL // MINUTE
    where = "{{ $labels.feed }}[{{ $labels.partition }}]"
    stalled = (
        f"{selector(c.CONSUMER_LAG)} > 0 and on (instance, feed, partition) "
        f"changes({selector(c.CONSUMER_OFFSET)}[{profile.window(CONSUMER_STALL)}]) == 0"
    )
    return [
        Alert(
            "ConsumerLagUnknown",
            f"{selector(c.CONSUMER_LAG_UNKNOWN)} == 1",
            profile.for_(CONSUMER_STALL),
            "page",
            "critical",
            Bilingual(f"分区 {where} 消费积压未知", f"Partition {where}: consumer lag unknown"),
            Bilingual(
                f"处理节点 {{{{ $labels.instance }}}} 拥有分区 {where}，但 {minutes} 分钟内没有任何拉取应答，"
                "无法得知积压；该分区的数据可能已停止更新。",
                f"Worker {{{{ $labels.instance }}}} owns partition {where} but no fetch has answered for "
                f"it in {minutes} min, so its lag is unknown; its figures may be frozen.",
            ),
        ),
        Alert(
            "ConsumerStalled",
            stalled,
            profile.for_(2 * MINUTE),  # on top of the 5 min window: a slow batch is not a stall
            "page",
            "critical",
            Bilingual(
                f'分区 {where} 停止消费（积压 {{{{ printf "%.0f" $value }}}} 条）',
                f'Partition {where} stalled with {{{{ printf "%.0f" $value }}}} messages waiting',
            ),
            Bilingual(
                f"处理节点 {{{{ $labels.instance }}}} 上分区 {where} 的消费位置 {minutes} 分钟未动，"
                "而高水位在其之前：新数据未被处理，相关机构的数据已冻结。",
                f"The consumer offset of partition {where} on worker {{{{ $labels.instance }}}} has not "
                f"moved for {minutes} min while its high watermark is ahead of it: new messages are not "
                "processed and the figures of its facilities are frozen.",
            ),
        ),
    ]


def ops_alerts(profile: Profile) -> list[Alert]:
    return [*feed_alerts(profile), *consumer_alerts(profile), *pipeline_alerts(profile)]
