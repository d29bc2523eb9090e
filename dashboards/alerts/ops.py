"""Alerts on the data itself and the pipeline: stale feeds, rejected events, delay, workers,
source partitions that are not being consumed.

>>> [alert.name for alert in ops_alerts(PRODUCTION, shipped_policy())][-1]
'PolicyMismatch'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from dashboards.alerts.model import Alert, Bilingual
from dashboards.alerts.profile import MINUTE, Profile
from schemas import metrics as c
from schemas import rules as n
from schemas.policy import Policy
from schemas.promql import registry_max, selector, sharded_rate_sum, with_facility_names

VILLAGE_CLINIC: Final = "village_clinic"
UNKNOWN_NAME: Final = ("未登记机构", "unregistered facility")

NAME_ZH = "{{ $labels.name }}"
NAME_EN = "{{ $labels.name_en }}"


def _stale(level_matcher: str) -> str:
    """The one staleness rule (dashboards/alerts/recording.py) for the facilities of some levels."""
    facilities = registry_max(c.FACILITY_INFO, level_matcher, by=("facility",))
    return with_facility_names(f"{n.FEED_STALE_SECONDS_FACILITY_FEED} and on (facility) {facilities}")


def _text_stale(kind_zh: str, kind_en: str, minutes: str) -> tuple[Bilingual, Bilingual]:
    feed = "{{ $labels.feed }}"
    return (
        Bilingual(f"{kind_zh}{NAME_ZH} 数据中断（{feed}）", f"{kind_en} {NAME_EN}: feed {feed} is silent"),
        Bilingual(
            f"{NAME_ZH} 的 {feed} 数据流超过 {minutes} 分钟没有事件或心跳"
            "（feed=all：自服务有数据以来从未收到任何数据）。",
            f"No event or heartbeat from {NAME_EN} on feed {feed} for over "
            f"{minutes} min (feed=all: nothing ever received from it).",
        ),
    )


def _minutes(seconds: Iterable[int]) -> str:
    """'5' or '5–10': the stale ages of the levels an alert covers, in minutes."""
    values = sorted({age / MINUTE for age in seconds})
    return f"{values[0]:g}" if len(values) == 1 else f"{values[0]:g}–{values[-1]:g}"


def feed_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    ages = policy.feeds.stale_seconds
    hospital = _minutes(age for level, age in ages.items() if level != VILLAGE_CLINIC)
    hospital_summary, hospital_description = _text_stale("医院", "Hospital", hospital)
    clinic_summary, clinic_description = _text_stale(
        "村卫生站", "Village clinic", _minutes([ages[VILLAGE_CLINIC]])
    )
    return [
        Alert(
            "FeedStaleHospital",
            _stale(f'level!="{VILLAGE_CLINIC}"'),
            profile.for_(MINUTE),  # the rule already waited its age; 1 min more rides out a rebalance
            "page",
            "critical",
            hospital_summary,
            hospital_description,
            inhibited_by=("WorkerDown",),
        ),
        Alert(
            "FeedStaleVillageClinic",
            _stale(f'level="{VILLAGE_CLINIC}"'),
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


def pipeline_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    limits = policy.pipeline
    window = profile.window(limits.rejected_seconds)
    share, minutes = f"{limits.rejected_ratio:.0%}", f"{limits.rejected_seconds / MINUTE:g}"
    quantile, delay = f"p{limits.delay_quantile * 100:g}", limits.delay_seconds
    rejected = sharded_rate_sum(c.EVENTS_REJECTED, window, by=("facility",))
    accepted = sharded_rate_sum(c.FACILITY_EVENTS, window, by=("facility",))
    ratio = (
        f"({rejected} / (({rejected} + {accepted}) or {rejected})) > {limits.rejected_ratio}"
        f" and on (facility) sum by (facility) (increase({selector(c.EVENTS_REJECTED)}[{window}]))"
        f" >= {limits.rejected_min_events}"
    )
    buckets = sharded_rate_sum(
        c.EVENT_DELAY, profile.window(limits.delay_window_seconds), by=("feed", "le"), suffix="_bucket"
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
                f"近 {minutes} 分钟 {NAME_ZH} 发送的事件中 {{{{ $value | humanizePercentage }}}} 被拒收"
                f"（阈值 {share}），原因见死信主题（medalliance dead-letter）。",
                f"Over {minutes} min, {{{{ $value | humanizePercentage }}}} of messages from {NAME_EN} were "
                f"rejected (threshold {share}); the reasons are on the dead-letter topic.",
            ),
        ),
        Alert(
            "PipelineDelayHigh",
            f"histogram_quantile({limits.delay_quantile}, {buckets}) > {delay}",
            profile.for_(
                10 * MINUTE
            ),  # a drained backlog raises it briefly; only a lasting delay is a ticket
            "ticket",
            "warning",
            Bilingual(
                f"{{{{ $labels.feed }}}} 数据流处理延迟 {quantile} {{{{ $value | humanizeDuration }}}}",
                f"Feed {{{{ $labels.feed }}}}: event delay {quantile} is {{{{ $value | humanizeDuration }}}}",
            ),
            Bilingual(
                f"{{{{ $labels.feed }}}} 数据流事件从发生到处理的 {quantile} 延迟超过 {delay} 秒，"
                "已持续 10 分钟；大屏数据滞后。",
                f"The {quantile} delay from occurred_at to processing on feed {{{{ $labels.feed }}}} has "
                f"been over {delay} s for 10 minutes: the wall is behind.",
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


def consumer_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    """A source partition a worker owns but does not consume: its figures freeze without a sound
    (the feeds of its facilities would look stale, wrongly blaming the hospitals)."""
    stall = policy.pipeline.consumer_stall_seconds
    minutes = f"{stall / MINUTE:g}"
    where = "{{ $labels.feed }}[{{ $labels.partition }}]"
    stalled = (
        f"{selector(c.CONSUMER_LAG)} > 0 and on (instance, feed, partition) "
        f"changes({selector(c.CONSUMER_OFFSET)}[{profile.window(stall)}]) == 0"
    )
    return [
        Alert(
            "ConsumerLagUnknown",
            f"{selector(c.CONSUMER_LAG_UNKNOWN)} == 1",
            profile.for_(stall),
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


def policy_alerts(profile: Profile) -> list[Alert]:
    """The worker judges by one policy, the rules by another: due soon, overdue and long stays on the
    wall then disagree with the pages. Both export the policy's hash (schemas/policy.py)."""
    worker = f"max by ({n.POLICY_HASH_LABEL}) ({selector(c.POLICY_INFO)})"
    return [
        Alert(
            "PolicyMismatch",
            f"{worker} unless on ({n.POLICY_HASH_LABEL}) {n.RULES_POLICY_INFO}",
            profile.for_(5 * MINUTE),  # a rolling deploy changes workers and rules minutes apart
            "ticket",
            "warning",
            Bilingual(
                "告警规则与处理节点的策略不一致（节点策略 {{ $labels.policy_hash }}）",
                "Rules and workers run different policies (worker policy {{ $labels.policy_hash }})",
            ),
            Bilingual(
                "处理节点按策略 {{ $labels.policy_hash }} 计算（即将超时、超时、急诊滞留），"
                "而 Prometheus 加载的规则由另一份策略生成：告警与大屏可能不一致。"
                "请用同一策略文件重新运行 medalliance generate。",
                "Workers judge due-soon, overdue and long ED stays by policy {{ $labels.policy_hash }}, "
                "but the rules Prometheus loaded were generated from another policy: pages and the wall "
                "may disagree. Regenerate with `medalliance generate` from the workers' policy file.",
            ),
        )
    ]


def ops_alerts(profile: Profile, policy: Policy) -> list[Alert]:
    return [
        *feed_alerts(profile, policy),
        *consumer_alerts(profile, policy),
        *pipeline_alerts(profile, policy),
        *policy_alerts(profile),
    ]
