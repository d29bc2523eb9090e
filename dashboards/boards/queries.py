"""PromQL shared by the dashboards: feed staleness, names, per-facility joins, time standards.

    >>> stale_feeds(("beds",))  # doctest: +ELLIPSIS
    '(time() - max without (instance, partition) (medalliance_feed_last_seen_timestamp_seconds...'

Every expression is built from the metric catalog (schemas/promql.py) or names a recording rule of
schemas/rules.py, so no metric name is typed here. Staleness is the one recording rule
(`medalliance:feed_stale_seconds:facility_feed`) the FeedStale alerts and the wall read too, so the
dashboards, the wall and the pager agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from schemas import metrics as c
from schemas import rules as n
from schemas.events import CATEGORIES, STANDARD_STAGES
from schemas.policy import Policy
from schemas.promql import registry_max, sharded_max, with_facility_names

FEEDS: Final = ("beds", "visits", "requests")
COUNTY_HOSPITAL: Final = "county_hospital"
VILLAGE_CLINIC: Final = "village_clinic"
# County-wide figures turn grey when a hospital or health-center feed is silent; a village clinic
# alone would grey the county all night, so clinics show in the stale-feeds table only.
WALL_LEVELS: Final = f'level!="{VILLAGE_CLINIC}"'
COUNTY_LEVEL: Final = f'level="{COUNTY_HOSPITAL}"'
FACILITY_VARIABLE: Final = "facility"


def feed_matcher(feeds: Sequence[str]) -> str:
    """`feed=~"beds|visits"`: the label matcher for a set of feeds."""
    return 'feed=~"' + "|".join(feeds) + '"'


def last_seen(feeds: Sequence[str], extra: str = "") -> str:
    """Latest event time per (facility, feed), over every worker and partition (a timestamp: max)."""
    matchers = feed_matcher(feeds) + (f", {extra}" if extra else "")
    return sharded_max(c.FEED_LAST_SEEN, matchers)


def facilities(level_matcher: str = "") -> str:
    """One series per facility of the registry (value 1), optionally filtered by level."""
    return registry_max(c.FACILITY_INFO, level_matcher, by=("facility",))


def expected_to_publish() -> str:
    """Facilities expected to publish now (hospitals always, clinics in opening hours)."""
    return f"{n.FACILITY_OPEN_FACILITY} == 1"


def stale_feeds(feeds: Sequence[str], level_matcher: str = "", extra: str = "") -> str:
    """Seconds since the last event, for each (facility, feed) silent past the policy's age while its
    facility is open; a facility never heard from counts for every feed (feed="all", +Inf)."""
    matchers = feed_matcher((*feeds, n.NEVER_SEEN_FEED)) + (f", {extra}" if extra else "")
    stale = f"{n.FEED_STALE_SECONDS_FACILITY_FEED}{{{matchers}}}"
    return f"{stale} and on (facility) {facilities(level_matcher)}" if level_matcher else stale


def stale_age_seconds(policy: Policy) -> int:
    """The shortest stale age of any level: a data age past it is drawn red."""
    return policy.feeds.shortest_stale_seconds


def stale_facilities(feeds: Sequence[str], level_matcher: str = "") -> str:
    """One series per facility with at least one stale feed among `feeds`."""
    return f"max by (facility) ({stale_feeds(feeds, level_matcher)})"


def any_stale(feeds: Sequence[str], level_matcher: str = WALL_LEVELS) -> str:
    """A label-less series present while any feed of the wall's facilities is stale."""
    return f"count({stale_feeds(feeds, level_matcher)}) > 0"


@dataclass(frozen=True, slots=True)
class DataAge:
    """How old a county-wide figure may be, and the age past which that is drawn red."""

    expr: str
    stale_after: int


def data_age(feeds: Sequence[str], policy: Policy, level_matcher: str = WALL_LEVELS) -> DataAge:
    """Seconds since the oldest last event among open facilities' feeds: how old the figure may be."""
    open_facilities = (
        f"and on (facility) ({expected_to_publish()}) and on (facility) {facilities(level_matcher)}"
    )
    return DataAge(f"time() - min({last_seen(feeds)} {open_facilities})", stale_age_seconds(policy))


def fresh_part(expr: str, stale: str, *, on: str = "facility") -> str:
    """The series of `expr` whose feeds are current."""
    return f"({expr}) unless on ({on}) ({stale})"


def stale_part(expr: str, stale: str, *, on: str = "facility") -> str:
    """The series of `expr` whose feeds are stale: drawn grey and labelled, never as current."""
    return f"({expr}) and on ({on}) ({stale})"


def named(expr: str) -> str:
    """Attach the registry names (`name`, `name_en`, ...) to a per-facility vector."""
    return with_facility_names(expr)


def county_hospitals(expr: str) -> str:
    """Keep the county hospitals' series of a per-facility vector."""
    return f"({expr}) and on (facility) {facilities(COUNTY_LEVEL)}"


def to_facility_as_facility(expr: str) -> str:
    """Requests carry `to_facility`: copy it to `facility` so the registry names join."""
    return f'label_replace({expr}, "facility", "$1", "to_facility", "(.+)")'


def standard_seconds(policy: Policy) -> str:
    """The policy's time standards as a vector labelled (category, stage): 600 for accepted, ..."""
    parts = []
    for category in CATEGORIES:
        for stage in STANDARD_STAGES:
            seconds = round(policy.requests.standard_seconds(category, stage))
            labelled = f'label_replace(vector({seconds}), "category", "{category}", "", "")'
            parts.append(f'label_replace({labelled}, "stage", "{stage}", "", "")')
    return " or ".join(parts)
