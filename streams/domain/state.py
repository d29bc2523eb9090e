"""The persisted state: every table key and value the worker writes, its field names and its version.

    >>> kind_of("t|3|5"), totals_key(3, "5")
    ('totals', 't|3|5')
    >>> upgrade("t|3|", {"o": 41, "c": {"medalliance_events_total\\x1fbeds\\x1fbed.admit": 2.0}})
    {'version': 1, 'offset': 41, 'counters': {'events\\x1fbeds\\x1fbed.admit': 2.0}}

This module is the one place the state's names are written: the key layout, the field names of
every value (the TypedDicts below), the ids of the series kept in the totals, the version.

Keys: `t|<p>|<bucket>` totals, `b|<p>|<facility>` a facility's wards, `e|<p>|<facility>|<visit>`
an ED visit, `r|<p>|<request>` a request, `k|<p>|<case>` a clinical case, `f|<p>|<referral>` a
two-way referral, `d|<p>|<day>|<chunk>` dedupe markers. The one-letter tag
comes first so the sweep and the collector can select a partition's keys by prefix; a key holds no
metric name.

Series ids, not exposition names: a totals value keys each series by a stable id (SERIES) and its
label values; streams.domain.readout maps ids to the catalog's metric names at scrape time, so a
renamed metric keeps its counts. Histogram counts are keyed by their upper bound (`"60"`, `"+Inf"`),
every bound of the set they were counted with present: when the catalog's bounds change, a bound
that is kept keeps its counts (a removed one's counts join the next kept bound, which is exact for
cumulative buckets), and a set with a bound the cell never had starts the series again from zero
(a counter reset, which rate() and increase() absorb), because counts cannot be split.

Versions: every value carries `version`. A value without one was written before versions (format
0, decd2a3 and before) and is upgraded when read; a value newer than VERSION is refused
(StateVersionError, one line): a worker never reads a format it does not know, nor writes it back.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any, Final, Literal, NamedTuple, TypedDict

from schemas.metrics import (
    CASE_BYPASS,
    CASE_INTERVAL_SECONDS,
    CASE_INTERVALS_WITHIN,
    ED_DEPARTURES,
    EVENT_DELAY,
    EVENTS,
    EVENTS_DUPLICATE,
    EVENTS_REJECTED,
    FACILITY_EVENTS,
    FEED_LAST_SEEN,
    REFERRAL_STAGE_SECONDS,
    REFERRALS,
    REFERRALS_ACCEPTED_LATE,
    REFERRALS_ENDED,
    REFERRALS_MONTH,
    REFERRALS_TODAY,
    REQUEST_STAGE_SECONDS,
    VISITS,
    VISITS_MONTH,
    VISITS_TODAY,
    MetricSpec,
)

VERSION: Final = 1
SEP: Final = "\x1f"  # between a series id and its label values (never in a label value)

KeyKind = Literal["totals", "beds", "visit", "request", "case", "referral", "markers"]
_KIND_OF_TAG: Final[dict[str, KeyKind]] = {
    "t": "totals",
    "b": "beds",
    "e": "visit",
    "r": "request",
    "k": "case",  # a clinical case of the five centers (streams.domain.cases; format 1 only)
    "f": "referral",  # a two-way referral (streams.domain.referrals; format 1 only)
    "d": "markers",
}
Unreadable = Literal["unknown_key", "unknown_series", "newer_version"]

# The series a totals value keeps, by stable id. An id is persisted: never reuse or rename one.
SERIES: Final[dict[str, MetricSpec]] = {
    "events": EVENTS,
    "facility_events": FACILITY_EVENTS,
    "duplicates": EVENTS_DUPLICATE,
    "rejected": EVENTS_REJECTED,
    "last_seen": FEED_LAST_SEEN,
    "event_delay": EVENT_DELAY,
    "visits": VISITS,
    "ed_departures": ED_DEPARTURES,
    "stage_seconds": REQUEST_STAGE_SECONDS,
    "case_intervals": CASE_INTERVAL_SECONDS,
    "case_within": CASE_INTERVALS_WITHIN,
    "case_bypass": CASE_BYPASS,
    "referrals": REFERRALS,
    "referral_stage_seconds": REFERRAL_STAGE_SECONDS,
    "referrals_ended": REFERRALS_ENDED,
    "referrals_accepted_late": REFERRALS_ACCEPTED_LATE,
}
# Counts by local date: the labels of their today/month gauges, then the date. Today's are exported
# as the today gauge, the current month's to date summed as the month gauge; the sweep prunes the
# days before both the month and yesterday (streams.domain.retention).
VISITS_DAY: Final = "visits_day"  # a facility's visits of one kind (facility, kind, date)
REFERRALS_DAY: Final = "referrals_day"  # referrals requested (direction, from, to facility, date)


class DaySeries(NamedTuple):
    today: MetricSpec
    month: MetricSpec


DAY_SERIES: Final[dict[str, DaySeries]] = {
    VISITS_DAY: DaySeries(VISITS_TODAY, VISITS_MONTH),
    REFERRALS_DAY: DaySeries(REFERRALS_TODAY, REFERRALS_MONTH),
}
_ID_OF_NAME: Final = {spec.name: series for series, spec in SERIES.items()}


class HistogramCell(TypedDict):
    counts: dict[str, int]  # upper bound (bound_key) -> observations in its bucket, not cumulative
    sum: float


class TotalsValue(TypedDict):
    version: int
    offset: int  # the last source offset applied to this value
    counters: dict[str, Any]  # series key -> number, or HistogramCell for a histogram


class EntityValue(TypedDict):
    version: int
    offset: int
    # Effects of offsets the feed-wide totals may not have seen yet: offset -> [[op, series, value]].
    effects: dict[str, list[Any]]
    state: dict[str, Any]  # WardsState, VisitState, RequestState or a case (streams.domain.cases)


class MarkerChunk(TypedDict):
    version: int
    ids: str  # packed "<hash><offset>" items (streams.domain.dedupe)


class WardState(TypedDict):
    census: list[Any] | None  # [at, seq, staffed, occupied] of the latest census
    movements: list[list[Any]]  # [[at, seq, event_id, delta], ...] after it, by (at, seq)


class WardsState(TypedDict):
    wards: dict[str, WardState]


class VisitState(TypedDict):
    arrival: list[Any] | None  # [at, seq]
    triage: list[Any] | None  # [at, seq, level] of the latest triage
    departure: list[Any] | None  # [at, seq, disposition]
    last: float  # the latest occurred_at (retention)


class RequestState(TypedDict):
    submitted: list[Any] | None  # [at, seq] of the first submission
    category: str | None
    from_facility: str | None
    to_facility: str | None
    stages: dict[str, list[Any]]  # stage -> [at, seq] of its first accepted event
    last: float


class ReferralState(TypedDict):
    requested: list[Any] | None  # [at, seq] of the first referral.requested
    direction: str | None  # up, down, lateral, external (schemas.events.DIRECTIONS)
    reason: str | None
    department: str | None
    from_facility: str | None  # the sender
    to_facility: str | None  # the receiver: a facility id, or EXTERNAL_FACILITY_LABEL's (never a code)
    ward: str | None  # the target ward the request named
    accept_wards: dict[str, str]  # facility -> the ward its first referral.accepted naming one named
    stages: dict[str, list[Any]]  # stage -> [at, seq] of its first accepted event
    last: float


class StateVersionError(ValueError):
    """A value written by a newer worker than this one."""


def kind_of(key: str) -> KeyKind | None:
    """The kind of a table key, None for a key this worker does not know."""
    return _KIND_OF_TAG.get(key[:1]) if key[1:2] == "|" else None


def partition_of(key: str) -> str:
    """The partition field of a key ("" for a key without one)."""
    parts = key.split("|", 2)
    return parts[1] if len(parts) > 1 else ""


def totals_key(partition: int, bucket: str = "") -> str:
    """A partition's totals value: one per facility bucket, and the feed-wide one (bucket "")."""
    return f"t|{partition}|{bucket}"


def beds_key(partition: int, facility: str) -> str:
    return f"b|{partition}|{facility}"


def visit_key(partition: int, facility: str, visit: str) -> str:
    return f"e|{partition}|{facility}|{visit}"


def facility_of_visit(key: str) -> str:
    return key.split("|", 3)[2]


def facility_of_beds(key: str) -> str:
    return key.split("|", 2)[2]


def request_key(partition: int, request: str) -> str:
    return f"r|{partition}|{request}"


def case_key(partition: int, case: str) -> str:
    return f"k|{partition}|{case}"


def referral_key(partition: int, referral: str) -> str:
    return f"f|{partition}|{referral}"


def marker_key(partition: int, day: int, chunk: int) -> str:
    return f"d|{partition}|{day}|{chunk}"


def marker_prefix(partition: int) -> str:
    return f"d|{partition}|"


def marker_day_of(key: str) -> int | None:
    """The day of a marker key, None for other keys."""
    parts = key.split("|")
    return int(parts[2]) if parts[0] == "d" else None


def marker_place(key: str) -> tuple[int, int]:
    """(day, chunk) of a marker key."""
    _, _, day, chunk = key.split("|")
    return int(day), int(chunk)


def new_totals() -> TotalsValue:
    return {"version": VERSION, "offset": -1, "counters": {}}


def new_entity(state: dict[str, Any]) -> EntityValue:
    return {"version": VERSION, "offset": -1, "effects": {}, "state": state}


def new_marker_chunk(ids: str) -> MarkerChunk:
    return {"version": VERSION, "ids": ids}


def series_key(spec: MetricSpec, *labels: str) -> str:
    """A series of the totals: its stable id and label values."""
    if len(labels) != len(spec.labels):
        raise ValueError(f"{spec.name} takes labels {spec.labels}, got {labels}")
    return SEP.join((_ID_OF_NAME[spec.name], *labels))


def day_key(series: str, *labels: str, local_date: str) -> str:
    """Totals key of a day series (DAY_SERIES) on a local date: its gauges' labels, then the date."""
    spec = DAY_SERIES[series].today
    if len(labels) != len(spec.labels):
        raise ValueError(f"{series} takes labels {spec.labels}, got {labels}")
    return SEP.join((series, *labels, local_date))


def visits_day_key(facility: str, kind: str, local_date: str) -> str:
    """Totals key of a facility's visits on a local date (visits_today, visits_month)."""
    return day_key(VISITS_DAY, facility, kind, local_date=local_date)


def referrals_day_key(direction: str, from_facility: str, to_facility: str, local_date: str) -> str:
    """Totals key of the referrals requested on a local date (referrals_today, referrals_month)."""
    return day_key(REFERRALS_DAY, direction, from_facility, to_facility, local_date=local_date)


def spec_of(series: str) -> MetricSpec | None:
    """The catalog metric a series id is exported as; None for a day series and unknown ids."""
    return SERIES.get(series)


def bound_key(bound: float) -> str:
    """A histogram bound as a counts key: exact (repr), without a trailing ".0"."""
    return "+Inf" if math.isinf(bound) else repr(float(bound)).removesuffix(".0")


@lru_cache(maxsize=64)
def _keys_of(bounds: tuple[float, ...]) -> tuple[str, ...]:
    return (*(bound_key(bound) for bound in bounds), "+Inf")


def new_cell(bounds: tuple[float, ...]) -> HistogramCell:
    return {"counts": dict.fromkeys(_keys_of(bounds), 0), "sum": 0.0}


def conform_cell(cell: HistogramCell, bounds: tuple[float, ...]) -> HistogramCell:
    """The cell under the catalog's `bounds`: itself when they are its bounds; with a removed
    bound's counts in the next kept bound; a new, empty cell when `bounds` has one it never had."""
    keys = _keys_of(bounds)
    counts = cell["counts"]
    if len(counts) == len(keys) and all(key in counts for key in keys):
        return cell
    if not all(key in counts for key in keys):
        return new_cell(bounds)
    edges = (*bounds, math.inf)
    folded = dict.fromkeys(keys, 0)
    for key, count in counts.items():
        folded[keys[bisect_left(edges, float(key))]] += count
    return {"counts": folded, "sum": cell["sum"]}


def observe_cell(cell: HistogramCell | None, bounds: tuple[float, ...], value: float) -> HistogramCell:
    """The cell with one more observation (a bucket's upper bound is inclusive, as `le` is)."""
    cell = new_cell(bounds) if cell is None else conform_cell(cell, bounds)
    cell["counts"][_keys_of(bounds)[bisect_left(bounds, value)]] += 1
    cell["sum"] += value
    return cell


def cell_counts(cell: HistogramCell, bounds: tuple[float, ...]) -> tuple[list[int], float]:
    """([non-cumulative counts of each bound..., +Inf], sum) under the catalog's `bounds`."""
    conformed = conform_cell(cell, bounds)
    return [conformed["counts"][key] for key in _keys_of(bounds)], conformed["sum"]


def upgrade(key: str, value: Any) -> Any:
    """The value in the current format; StateVersionError for a value of a newer format."""
    version = value.get("version", 0)
    if version == VERSION:
        return value
    if version > VERSION:
        raise StateVersionError(
            f"table key {key!r} has state format {version}, this worker reads up to {VERSION}: "
            "run the newer medalliance release on this state (a format is never downgraded)"
        )
    kind = kind_of(key)
    if kind is None:
        raise KeyError(key)
    return _from_v0(kind, value)


def readable(
    items: Iterable[tuple[str, Any]], unread: Counter[Unreadable] | None = None
) -> Iterator[tuple[str, KeyKind, Any]]:
    """(key, kind, current-format value) of each item this worker can read; the others are
    counted in `unread` by why (a scrape never fails on them)."""
    for key, value in items:
        kind = kind_of(key)
        if kind is None or value is None:
            if unread is not None and kind is None:
                unread["unknown_key"] += 1
            continue
        try:
            yield key, kind, upgrade(key, value)
        except StateVersionError:
            if unread is not None:
                unread["newer_version"] += 1


# Format 0, frozen as decd2a3 wrote it: series keyed by metric name, histograms by bucket position.
_V0_SERIES: Final = {
    "medalliance_events_total": "events",
    "medalliance_facility_events_total": "facility_events",
    "medalliance_events_duplicate_total": "duplicates",
    "medalliance_events_rejected_total": "rejected",
    "medalliance_feed_last_seen_timestamp_seconds": "last_seen",
    "medalliance_event_delay_seconds": "event_delay",
    "medalliance_visits_total": "visits",
    "medalliance_ed_departures_total": "ed_departures",
    "medalliance_request_stage_seconds": "stage_seconds",
    "day": VISITS_DAY,
}
_V0_BUCKETS: Final[dict[str, tuple[float, ...]]] = {
    "event_delay": (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0),
    "stage_seconds": (60.0, 180.0, 300.0, 480.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 4800.0,
                      5400.0, 7200.0, 10800.0, 21600.0),
}  # fmt: skip


def _v0_series(key: str) -> str:
    """A format-0 series key under its id; a name format 0 did not have stays as it was (and is
    then counted as an unknown series when read)."""
    name, _, labels = key.partition(SEP)
    series = _V0_SERIES.get(name)
    return key if series is None else f"{series}{SEP}{labels}"


def _v0_counter(series: str, value: Any) -> Any:
    bounds = _V0_BUCKETS.get(series.partition(SEP)[0])
    if bounds is None or not isinstance(value, list):
        return value
    return {"counts": dict(zip(_keys_of(bounds), value[:-1], strict=True)), "sum": value[-1]}


def _from_v0(kind: KeyKind, value: dict[str, Any]) -> Any:
    if kind == "totals":
        counters = {}
        for key, counter in value["c"].items():
            series = _v0_series(key)
            counters[series] = _v0_counter(series, counter)
        return {"version": VERSION, "offset": value["o"], "counters": counters}
    if kind == "markers":
        return new_marker_chunk(value["m"])
    effects = {
        offset: [[op, _v0_series(series), amount] for op, series, amount in logged]
        for offset, logged in value["fx"].items()
    }
    return {
        "version": VERSION,
        "offset": value["o"],
        "effects": effects,
        "state": _v0_entity(kind, value["s"]),
    }


def _v0_entity(kind: KeyKind, state: dict[str, Any]) -> dict[str, Any]:
    if kind == "beds":
        return {"wards": {ward: {"census": w["c"], "movements": w["m"]} for ward, w in state["w"].items()}}
    if kind == "visit":
        return {"arrival": state["a"], "triage": state["t"], "departure": state["d"], "last": state["last"]}
    return {
        "submitted": state["sub"],
        "category": state["cat"],
        "from_facility": state["from"],
        "to_facility": state["to"],
        "stages": state["st"],
        "last": state["last"],
    }
