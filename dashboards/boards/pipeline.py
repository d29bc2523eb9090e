"""数据管道 / Pipeline health: events/s by feed, rejections, delay, consumer lag, workers.

    >>> pipeline("medalliance-pipeline-health").build().uid
    'medalliance-pipeline-health'

For the people who run the service rather than the wards: is every event arriving, how late, and is
every partition consumed by a live worker.
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.boards import labels
from dashboards.boards.layout import (
    COUNT_ALARM_STEPS,
    Steps,
    Title,
    merge_and_organize,
    new_board,
    query,
    stat_panel,
    table_panel,
    time_panel,
)
from dashboards.boards.queries import FEEDS, stale_feeds
from schemas import metrics as c
from schemas import rules as n
from schemas.policy import Policy
from schemas.promql import selector, sharded_rate_sum, sharded_sum

NAME: Final = Title("数据管道", "Pipeline health")
RATE_WINDOW: Final = "$__rate_interval"
WORKERS_UP: Final = f'up{{job="{n.WORKER_JOB}"}}'
DELAY_QUANTILES: Final = (0.5, 0.95, 0.99)
# Lag in messages: a few hundred is a burst being absorbed; thousands means the workers fall behind.


def lag_steps(policy: Policy) -> Steps:
    limits = policy.pipeline
    return ((None, "green"), (limits.lag_warn_messages, "orange"), (limits.lag_alarm_messages, "red"))


def delay_steps(policy: Policy) -> Steps:
    limits = policy.pipeline
    return ((None, "green"), (limits.delay_seconds, "orange"), (limits.delay_alarm_seconds, "red"))


def headline(policy: Policy) -> list[Builder[dm.Panel]]:
    workers = stat_panel(
        Title("工作进程", "Workers up"),
        [
            query(f"sum({WORKERS_UP}) or vector(0)", "A", legend="在线 up", instant=True),
            query(f"count({WORKERS_UP}) or vector(0)", "B", legend="应有 expected", instant=True),
        ],
        description="Scrape targets of the worker job that answer (up) out of those configured.",
    )
    events = stat_panel(
        Title("事件速率", "Accepted events/s"),
        [query(sharded_rate_sum(c.EVENTS, "5m", by=()), "A", legend="事件/秒 events/s", instant=True)],
        unit="short",
    )
    rejected = stat_panel(
        Title("拒收（近1小时）", "Rejected, last hour"),
        [
            query(
                f"round(sum by () (increase({selector(c.EVENTS_REJECTED)}[1h]))) or vector(0)",
                "A",
                legend="拒收 rejected",
                instant=True,
            )
        ],
        steps=((None, "green"), (1, "orange")),
        background=True,
    )
    lag = stat_panel(
        Title("消费积压", "Consumer lag"),
        [
            query(
                f"{sharded_sum(c.CONSUMER_LAG, by=())} or vector(0)",
                "A",
                legend="消息 messages",
                instant=True,
            )
        ],
        steps=lag_steps(policy),
        background=True,
    )
    stale = stat_panel(
        Title("停更数据流", "Stale feeds"),
        [query(f"count({stale_feeds(FEEDS)}) or vector(0)", "A", legend="停更 stale", instant=True)],
        steps=COUNT_ALARM_STEPS,
        background=True,
    )
    return [
        p.span(span).height(5) for p, span in ((workers, 5), (events, 5), (rejected, 5), (lag, 5), (stale, 4))
    ]


def rates() -> list[Builder[dm.Panel]]:
    by_feed = time_panel(
        Title("各数据流事件速率", "Events/s by feed"),
        [query(sharded_rate_sum(c.EVENTS, RATE_WINDOW, by=("feed",)), "A", legend="{{feed}}")],
        unit="short",
    ).transformations(labels.series_renames(labels.FEED_NAMES))
    rejected = time_panel(
        Title("拒收事件", "Rejected events/s by reason and facility"),
        [
            query(
                sharded_rate_sum(c.EVENTS_REJECTED, RATE_WINDOW, by=("reason", "facility")),
                "A",
                legend="{{reason}} · {{facility}}",
            )
        ],
        unit="short",
        description="Messages sent to the dead-letter topic, by reason code (EVENTS.md) and facility "
        "(`unknown` when missing or not in the registry).",
    )
    return [by_feed.span(12).height(8), rejected.span(12).height(8)]


def delay_and_lag(policy: Policy) -> list[Builder[dm.Panel]]:
    buckets = selector(c.EVENT_DELAY, suffix="_bucket")
    targets = [
        query(
            f"histogram_quantile({q}, sum by (feed, le) (rate({buckets}[{RATE_WINDOW}])))",
            ref,
            legend=f"{{{{feed}}}} p{round(q * 100)}",
        )
        for q, ref in zip(DELAY_QUANTILES, "ABC", strict=True)
    ]
    delay = time_panel(
        Title("事件延迟", "Event delay"),
        targets,
        unit="s",
        steps=delay_steps(policy),
        description="Processing time minus occurred_at: sub-second when healthy; minutes when a "
        "publisher buffers.",
    )
    lag = time_panel(
        Title("各数据流消费积压", "Consumer lag by feed"),
        [query(sharded_sum(c.CONSUMER_LAG, by=("feed",)), "A", legend="{{feed}}")],
        steps=lag_steps(policy),
        description="Messages behind the high watermark, summed over owned partitions.",
    ).transformations(labels.series_renames(labels.FEED_NAMES))
    return [delay.span(12).height(8), lag.span(12).height(8)]


def ownership() -> list[Builder[dm.Panel]]:
    columns = {
        "feed": "数据流 feed",
        "reason": "原因 reason",
        "facility": "机构 facility",
        "Value": "拒收 rejected",
    }
    rejected_total = selector(c.EVENTS_REJECTED)
    rejected = table_panel(
        Title("拒收明细", "Rejections in the range"),
        [
            query(
                f"round(sum by (feed, reason, facility) (increase({rejected_total}[$__range]))) > 0",
                "A",
                table_format=True,
            )
        ],
        transformations=merge_and_organize(columns, ("Time",)),
        description="Rejected messages during the time range by feed, reason and facility.",
    )
    owned = time_panel(
        Title("分区归属", "Partitions owned per worker"),
        [
            query(
                f"sum by (instance, feed) ({selector(c.PARTITIONS_OWNED)})",
                "A",
                legend="{{instance}} {{feed}}",
            )
        ],
        description="Source partitions each worker owns; after a rebalance every partition has exactly "
        "one owner.",
    )
    duplicates = time_panel(
        Title("重复事件", "Duplicate events/s"),
        [query(sharded_rate_sum(c.EVENTS_DUPLICATE, RATE_WINDOW, by=("feed",)), "A", legend="{{feed}}")],
        unit="short",
        description="Valid events whose event_id was already accepted (not errors: publishers retry).",
    ).transformations(labels.series_renames(labels.FEED_NAMES))
    return [rejected.span(10).height(8), owned.span(7).height(8), duplicates.span(7).height(8)]


def pipeline(uid: str, policy: Policy) -> Dashboard:
    board = new_board(NAME, uid, tags=("ops",)).refresh("30s").time("now-3h", "now")
    for panel in [*headline(policy), *rates(), *delay_and_lag(policy), *ownership()]:
        board = board.with_panel(panel)
    return board
