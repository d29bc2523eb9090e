"""The banner: one line per thing that is down, Chinese first, never a wall of exception text.

    >>> outage_banners(Outages(prometheus_error="connection refused", prometheus_url="http://127.0.0.1:9090"))
    [Banner(what='prometheus', zh='Prometheus 无响应（http://127.0.0.1:9090，connection refused）', en=...)]

Causes come before consequences: when a worker is down, its missing partitions are not
announced again (the greyed sections already carry that reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

_SINCE_UNKNOWN: Final = "--:--:--"


@dataclass(frozen=True, slots=True)
class Banner:
    what: str  # prometheus | worker | target | coverage | requests | feeds (a CSS class on the page)
    zh: str
    en: str


@dataclass(slots=True)
class Outages:
    """What one refresh found wrong."""

    prometheus_url: str = ""
    prometheus_error: str | None = None
    prometheus_since: str | None = None  # HH:MM:SS of the last good answer
    dead_workers: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    targets_down: list[str] = field(default_factory=list)  # host:port Prometheus cannot scrape
    incomplete_feeds: dict[str, tuple[int, int]] = field(default_factory=dict)  # feed: (reported, expected)
    missing_request_partitions: list[int] = field(default_factory=list)
    stale_feeds: int = 0
    stale_feed_minutes: float = 5
    policy_hash: str = ""  # the policy the wall (and its workers) judge by
    rules_policies: list[str] | None = None  # policy hashes of the rules Prometheus evaluates


def _rules(o: Outages) -> list[Banner]:
    """The staleness and escalation figures are recording rules: without them, or with rules of
    another policy, the wall would show a silent feed as live."""
    if o.prometheus_error is not None or o.rules_policies is None or o.rules_policies == [o.policy_hash]:
        return []
    if not o.rules_policies:
        return [
            Banner(
                "rules",
                "Prometheus 未加载 medalliance 规则：停更与分级不可用",
                "Prometheus has no medalliance rules loaded: staleness and escalation unknown",
            )
        ]
    found = ", ".join(o.rules_policies)
    return [
        Banner(
            "rules",
            f"告警规则的策略（{found}）与大屏的策略（{o.policy_hash}）不一致",
            f"Rules were generated from policy {found}, the wall runs {o.policy_hash}",
        )
    ]


def _prometheus(o: Outages) -> list[Banner]:
    if o.prometheus_error is None:
        return []
    since = o.prometheus_since or _SINCE_UNKNOWN
    return [
        Banner(
            "prometheus",
            f"Prometheus 无响应（{o.prometheus_url}，{o.prometheus_error}），数字停留在 {since}",
            f"Prometheus not answering ({o.prometheus_url}, {o.prometheus_error}); numbers as of {since}",
        )
    ]


def _workers(o: Outages) -> list[Banner]:
    banners = []
    if o.dead_workers:
        listed = "，".join(f"{url}（{reason}）" for url, reason in o.dead_workers)
        listed_en = ", ".join(f"{url} ({reason})" for url, reason in o.dead_workers)
        banners.append(Banner("worker", f"工作进程无响应：{listed}", f"Worker not answering: {listed_en}"))
    dead_hosts = {urlsplit(url).netloc for url, _ in o.dead_workers}
    unexplained = [target for target in o.targets_down if target not in dead_hosts]
    if unexplained:
        listed = ", ".join(unexplained)
        banners.append(
            Banner("target", f"Prometheus 无法采集 {listed}", f"Prometheus cannot scrape {listed}")
        )
    return banners


def _coverage(o: Outages, causes_shown: bool) -> list[Banner]:
    banners = []
    if o.incomplete_feeds and not causes_shown:
        detail = ", ".join(f"{feed} {have}/{want}" for feed, (have, want) in o.incomplete_feeds.items())
        banners.append(
            Banner(
                "coverage",
                f"数据不完整，分区未上报：{detail}",
                f"Data incomplete, partitions reported: {detail}",
            )
        )
    if o.missing_request_partitions and not causes_shown:
        listed = ", ".join(map(str, o.missing_request_partitions))
        banners.append(
            Banner("requests", f"申请看板缺少分区 {listed}", f"Request board is missing partitions {listed}")
        )
    return banners


def outage_banners(o: Outages) -> list[Banner]:
    """The banners of one refresh, most fundamental first."""
    causes = _prometheus(o) + _workers(o)
    banners = causes + _rules(o) + _coverage(o, causes_shown=bool(causes))
    if o.stale_feeds:
        banners.append(
            Banner(
                "feeds",
                f"{o.stale_feeds} 个数据源超过 {o.stale_feed_minutes:g} 分钟未更新",
                f"{o.stale_feeds} facility feeds silent for more than {o.stale_feed_minutes:g} min",
            )
        )
    return banners
