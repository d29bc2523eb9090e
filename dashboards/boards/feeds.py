"""Feed freshness panels: which feeds are silent, since when (overview and facility pages).

    >>> stale_feed_table(("beds", "visits")).build().type_val
    'table'

A feed is stale under the same rule as the FeedStale alerts (dashboards/boards/queries.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from grafana_foundation_sdk.builders import common, stat, table
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.boards import labels
from dashboards.boards.layout import (
    Title,
    merge_and_organize,
    query,
    stat_panel,
    table_panel,
    thresholds_property,
)
from dashboards.boards.queries import last_seen, named, stale_age_seconds, stale_feeds
from schemas.policy import Policy

SILENT_FOR: Final = "停更时长 silent for"
LAST_SEEN: Final = "最后数据 last seen"
# Grafana's unit for a unix time in milliseconds, shown as local date and time.
TIME_UNIT: Final = "dateTimeAsLocal"


def stale_feed_table(feeds: Sequence[str]) -> table.Panel:
    """Every stale feed of an open facility, with how long it has been silent and its last event time."""
    stale = stale_feeds(feeds)
    columns = {
        "name": "机构",
        "name_en": "Facility",
        "feed": "数据流 feed",
        "Value #A": SILENT_FOR,
        "Value #B": LAST_SEEN,
    }
    hidden = ("Time", "job", "level", "township", "facility")
    return (
        table_panel(
            Title("停更数据流明细", "Stale feeds: last seen"),
            [
                query(named(stale), "A", table_format=True),
                query(
                    f"{named(f'{last_seen(feeds)} and on (facility, feed) ({stale})')} * 1000",
                    "B",
                    table_format=True,
                ),
            ],
            transformations=merge_and_organize(columns, hidden),
            description="Feeds with no event or heartbeat for 5 minutes while their facility is open. "
            "Empty when every feed is current.",
        )
        .mappings(labels.text_mappings(labels.FEED_NAMES))
        .override_by_name(SILENT_FOR, [dm.DynamicConfigValue(id_val="unit", value="s")])
        .override_by_name(LAST_SEEN, [dm.DynamicConfigValue(id_val="unit", value=TIME_UNIT)])
        .sort_by([_sort_descending(SILENT_FOR)])
    )


def feed_freshness(facility_matcher: str, policy: Policy) -> stat.Panel:
    """Seconds since each feed of one facility last spoke, red past the stale threshold."""
    age = f"time() - {last_seen(('beds', 'visits', 'requests'), facility_matcher)}"
    return (
        stat_panel(
            Title("数据新鲜度", "Feed freshness"),
            [query(age, "A", legend="{{feed}}", instant=True)],
            unit="s",
            background=True,
            description="Seconds since the latest event or heartbeat on each feed; red after 5 minutes. "
            "A feed never heard from shows no value.",
            no_value="无数据 never seen",
        )
        .override_by_query("A", [thresholds_property(((None, "green"), (stale_age_seconds(policy), "red")))])
        .transformations(labels.series_renames(labels.FEED_NAMES))
    )


def _sort_descending(column: str) -> common.TableSortByFieldState:
    return common.TableSortByFieldState().display_name(column).desc(True)
