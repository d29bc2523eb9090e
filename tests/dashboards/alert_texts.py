# ruff: noqa: E501  (each alert text is typed whole, as the on-call engineer reads it)
"""The alerts' wording as the on-call engineer must read it, typed here, not read from the rules.

    >>> WORDING["EDLongStays"].filled({"name_en": "Zhigong Town Health Center", "name": "…"}, 3)["summary"]
    '3 patients in the ED over 4 h at Zhigong Town Health Center'

Each text is a Python format string over the alert's labels and four renderings of its value
(the forms Prometheus' templates use): `{percent}` humanizePercentage, `{whole}` printf "%.0f",
`{tenths}` printf "%.1f", `{duration}` humanizeDuration. A promtool test that fires an alert
compares every annotation with these texts, so a changed word, number or placeholder in the
generated rules fails the test that saw it fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

# Every alert of the service carries this label (the routing tree matches on it).
SERVICE: Final = {"service": "medalliance"}


def percent(ratio: float) -> str:
    """Go's humanizePercentage: humanize(100 * v) + '%' (4 significant digits here)."""
    return f"{ratio * 100:.4g}%"


def minutes_seconds(seconds: float) -> str:
    """Go's humanizeDuration for values under an hour: '4m 51s'."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest}s" if minutes else f"{rest}s"


class _Blank(dict[str, str]):
    """A label the alert lacks renders empty, as in Prometheus' Go templates."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Wording:
    """(severity, urgency) and the four texts of one alert."""

    severity: tuple[str, str]
    summary: str
    description: str
    summary_zh: str
    description_zh: str

    def labels(self) -> dict[str, str]:
        return {"severity": self.severity[0], "urgency": self.severity[1], **SERVICE}

    def filled(self, labels: Mapping[str, str], value: float) -> dict[str, str]:
        forms = {
            "percent": percent(value),
            "whole": f"{value:.0f}",
            "tenths": f"{value:.1f}",
            "duration": minutes_seconds(value),
        }
        texts = {
            "summary": self.summary,
            "description": self.description,
            "summary_zh": self.summary_zh,
            "description_zh": self.description_zh,
        }
        values = _Blank({**labels, **forms})
        return {key: text.format_map(values) for key, text in texts.items()}


WORDING: Final[dict[str, Wording]] = {
    "WardOccupancyHigh": Wording(
        ("page", "warning"),
        "Ward {ward} at {name_en} is nearly full ({percent} occupied)",
        "Ward {ward} at {name_en} has been at {percent} occupancy for 15 minutes (>= 90%; wards under 10 beds: 1 or no free bed).",
        "{name} {ward} 病区床位紧张（使用率 {percent}）",
        "{name} {ward} 病区床位使用率 {percent} 已持续 15 分钟（≥ 90%；不足 10 张床的病区按空床 ≤ 1 张计）。",
    ),
    "FacilityOverCapacity": Wording(
        ("page", "critical"),
        "{name_en} is over capacity ({percent} of staffed beds: corridor beds)",
        "{name_en} has been at {percent} of its staffed beds (over 100%: corridor beds) for 15 minutes.",
        "{name} 床位超负荷（使用率 {percent}，已加床）",
        "{name} 床位使用率 {percent}，超过 100%（在床患者多于开放床位），已持续 15 分钟。",
    ),
    "CountyBedRunwayShort": Wording(
        ("page", "warning"),
        "County beds forecast to reach 95% occupancy in {tenths} h",
        "On the last hour's trend (predict_linear) county occupancy reaches 95% in {tenths} h (threshold 4 h).",
        "全县床位预计 {tenths} 小时内达到 95%",
        "按近一小时趋势（predict_linear），全县床位使用率将在 {tenths} 小时内达到 95%（阈值 4 小时）。",
    ),
    "EDSurge": Wording(
        ("page", "critical"),
        "ED surge at {name_en} ({whole} arrivals in the last hour)",
        "{name_en} had {whole} ED arrivals in the last hour (event time): over 2x the same hour yesterday / last week and at least 20, for 10 minutes.",
        "{name} 急诊就诊激增（近一小时 {whole} 人次）",
        "{name} 急诊近一小时到达 {whole} 人次（按发生时间），超过昨日/上周同时段的 2 倍且不低于 20 人次，已持续 10 分钟。",
    ),
    "EDOverCapacity": Wording(
        ("page", "critical"),
        "More ED patients than ED beds at {name_en} ({percent})",
        "{name_en} has ED patients at {percent} of its ED beds (threshold 100%) for 15 minutes.",
        "{name} 急诊患者数超过急诊床位（{percent}）",
        "{name} 急诊在室患者为急诊床位的 {percent}（阈值 100%），已持续 15 分钟。",
    ),
    "EDLongStays": Wording(
        ("ticket", "warning"),
        "{whole} patients in the ED over 4 h at {name_en}",
        "{name_en} has {whole} patients in the ED for more than 4 h (event time), for 15 minutes.",
        "{name} 急诊滞留超过 4 小时的患者 {whole} 人",
        "{name} 有 {whole} 名患者在急诊停留超过 4 小时（按发生时间），已持续 15 分钟。",
    ),
    "EDLeftWithoutBeingSeenHigh": Wording(
        ("ticket", "warning"),
        "{percent} of ED patients left without being seen at {name_en}",
        "Over the last 2 h, {percent} of ED departures at {name_en} left without being seen (threshold 5%, at least 20 departures).",
        "{name} 急诊未就诊离开比例 {percent}",
        "{name} 近 2 小时急诊离开患者中 {percent} 未经诊治即离开（阈值 5%，至少 20 人次）。",
    ),
    "RequestDueSoon": Wording(
        ("ticket", "warning"),
        "{whole} {category} request(s) to {name_en} for stage {stage} due soon",
        "{whole} open {category} request(s) to {name_en} for stage {stage} have used over 80% of the time standard without reaching it.",
        "{whole} 个{category} 类高危申请（环节 {stage}，接收方 {name}）即将超时",
        "{whole} 个{category} 类高危申请（环节 {stage}，接收方 {name}）已用去时限的 80% 以上，尚未到达该环节。",
    ),
    "RequestOverdue": Wording(
        ("page", "critical"),
        "{whole} {category} request(s) to {name_en} for stage {stage} overdue",
        "{whole} open {category} request(s) to {name_en} for stage {stage} are past the time standard without reaching it: act now.",
        "{whole} 个{category} 类高危申请（环节 {stage}，接收方 {name}）已超时",
        "{whole} 个{category} 类高危申请（环节 {stage}，接收方 {name}）已超过时限仍未到达该环节，请立即协调。",
    ),
    "FeedStaleHospital": Wording(
        ("page", "critical"),
        "Hospital {name_en}: feed {feed} is silent",
        "No event or heartbeat from {name_en} on feed {feed} for over 5 min (feed=all: nothing ever received from it).",
        "医院{name} 数据中断（{feed}）",
        "{name} 的 {feed} 数据流超过 5 分钟没有事件或心跳（feed=all：自服务有数据以来从未收到任何数据）。",
    ),
    "FeedStaleVillageClinic": Wording(
        ("ticket", "warning"),
        "Village clinic {name_en}: feed {feed} is silent",
        "No event or heartbeat from {name_en} on feed {feed} for over 5 min (feed=all: nothing ever received from it).",
        "村卫生站{name} 数据中断（{feed}）",
        "{name} 的 {feed} 数据流超过 5 分钟没有事件或心跳（feed=all：自服务有数据以来从未收到任何数据）。",
    ),
    "ConsumerLagUnknown": Wording(
        ("page", "critical"),
        "Partition {feed}[{partition}]: consumer lag unknown",
        "Worker {instance} owns partition {feed}[{partition}] but no fetch has answered for it in 5 min, so its lag is unknown; its figures may be frozen.",
        "分区 {feed}[{partition}] 消费积压未知",
        "处理节点 {instance} 拥有分区 {feed}[{partition}]，但 5 分钟内没有任何拉取应答，无法得知积压；该分区的数据可能已停止更新。",
    ),
    "ConsumerStalled": Wording(
        ("page", "critical"),
        "Partition {feed}[{partition}] stalled with {whole} messages waiting",
        "The consumer offset of partition {feed}[{partition}] on worker {instance} has not moved for 5 min while its high watermark is ahead of it: new messages are not processed and the figures of its facilities are frozen.",
        "分区 {feed}[{partition}] 停止消费（积压 {whole} 条）",
        "处理节点 {instance} 上分区 {feed}[{partition}] 的消费位置 5 分钟未动，而高水位在其之前：新数据未被处理，相关机构的数据已冻结。",
    ),
    "RejectedEventsHigh": Wording(
        ("ticket", "warning"),
        "{percent} of events from {name_en} are rejected",
        "Over 15 min, {percent} of messages from {name_en} were rejected (threshold 5%); the reasons are on the dead-letter topic.",
        "{name} 被拒事件比例 {percent}",
        "近 15 分钟 {name} 发送的事件中 {percent} 被拒收（阈值 5%），原因见死信主题（medalliance dead-letter）。",
    ),
    "PipelineDelayHigh": Wording(
        ("ticket", "warning"),
        "Feed {feed}: event delay p95 is {duration}",
        "The p95 delay from occurred_at to processing on feed {feed} has been over 60 s for 10 minutes: the wall is behind.",
        "{feed} 数据流处理延迟 p95 {duration}",
        "{feed} 数据流事件从发生到处理的 p95 延迟超过 60 秒，已持续 10 分钟；大屏数据滞后。",
    ),
    "WorkerDown": Wording(
        ("page", "critical"),
        "Worker {instance} is down",
        "Prometheus has not scraped worker {instance} for 2 minutes (no instance: no worker at all); its partitions' figures are frozen.",
        "处理节点宕机 {instance}",
        "Prometheus 已 2 分钟无法抓取处理节点 {instance}（无 instance：没有任何节点）；其分区的数据不再更新。",
    ),
    "Watchdog": Wording(
        ("ticket", "warning"),
        "Alerting pipeline is alive (watchdog)",
        "Always firing, to prove Prometheus -> Alertmanager -> receivers works; its absence is the failure (route it to a dead man's switch).",
        "告警链路正常（看门狗）",
        "此告警始终触发，用于证明 Prometheus → Alertmanager → 通知链路畅通；收不到它才是故障。",
    ),
    "CaseClockDueSoon": Wording(
        ("page", "warning"),
        "{whole} case(s) at {name_en}: {category} / {interval} due soon",
        "{whole} open case(s) at {name_en} have used over 80% of the {category} / {interval} standard without reaching its next milestone: the last moment to act.",
        "{name} {whole} 例 {category} / {interval} 即将超时",
        "{name} 有 {whole} 例 {category} / {interval} 已用去标准时间的 80% 以上，下一节点尚未完成：现在是最后的处置时机。",
    ),
    "CaseClockOverdue": Wording(
        ("page", "critical"),
        "{whole} case(s) at {name_en}: {category} / {interval} overdue",
        "{whole} open case(s) at {name_en} are past the {category} / {interval} standard without reaching its next milestone: act now.",
        "{name} {whole} 例 {category} / {interval} 已超时",
        "{name} 有 {whole} 例 {category} / {interval} 已超过标准时间，下一节点仍未完成，请立即协调。",
    ),
    "CaseComplianceBelowTarget": Wording(
        ("ticket", "warning"),
        "{name_en}: {category} / {interval} within standard in {percent} of cases over 30 days, below target",
        "Over 30 days, {percent} of {category} / {interval} intervals at {name_en} were within standard, below the policy's target (judged from 5 cases); the QC platforms count it monthly.",
        "{name} {category} / {interval} 30 天达标率 {percent}，低于目标",
        "{name} 近 30 天 {category} / {interval} 达标率 {percent}，低于策略目标（至少 5 例时判断）；质控平台按月统计。",
    ),
    "ReferralPendingExpired": Wording(
        ("ticket", "warning"),
        "{whole} referral(s) to {name_en} pending past their limit",
        "{whole} referral(s) to {name_en} have been neither accepted, rejected nor cancelled within the limit for their direction (up 2 h, lateral 4 h, down 24 h) for 15 minutes: the receiving facility should answer them. The pending referrals and their wards' free beds are on the referrals dashboard.",
        "{name} {whole} 例转诊超时未处理",
        "转往{name}的 {whole} 例转诊超过时限（上转 2 小时、平转 4 小时、下转 24 小时）仍未接收、拒绝或取消，已持续 15 分钟，请接收机构处理；待处理转诊及目标病区空床见双向转诊看板。",
    ),
    "PolicyMismatch": Wording(
        ("ticket", "warning"),
        "Rules and workers run different policies (worker policy {policy_hash})",
        "Workers judge due-soon, overdue and long ED stays by policy {policy_hash}, but the rules Prometheus loaded were generated from another policy: pages and the wall may disagree. Regenerate with `medalliance generate` from the workers' policy file.",
        "告警规则与处理节点的策略不一致（节点策略 {policy_hash}）",
        "处理节点按策略 {policy_hash} 计算（即将超时、超时、急诊滞留），而 Prometheus 加载的规则由另一份策略生成：告警与大屏可能不一致。请用同一策略文件重新运行 medalliance generate。",
    ),
}
