"""The state model: histogram bounds that change, versions, unknown keys, ids instead of names.

Expected values are worked out by hand from the rule each test states."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime

import pytest

from schemas.metrics import CATALOG, EVENTS, REQUEST_STAGE_SECONDS, MetricSpec
from schemas.registry import Registry
from streams.domain.dedupe import Markers
from streams.domain.effects import apply_effects, inc, observe
from streams.domain.pipeline import Message, Rules, process_batch
from streams.domain.readout import partition_samples
from streams.domain.state import (
    SERIES,
    VERSION,
    StateVersionError,
    cell_counts,
    new_cell,
    observe_cell,
    readable,
    upgrade,
)
from streams.domain.store import DictStore
from streams.settings import load_settings
from tests.support.pipeline_run import readout

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _cell(bounds: tuple[float, ...], values: list[float]) -> object:
    cell = None
    for value in values:
        cell = observe_cell(cell, bounds, value)  # type: ignore[arg-type]
    return cell


def test_histogram_counts_are_keyed_by_their_upper_bound() -> None:
    cell = _cell((1.0, 2.5, 10.0), [0.5, 1.0, 2.0, 11.0])
    assert cell == {"counts": {"1": 2, "2.5": 1, "10": 0, "+Inf": 1}, "sum": 14.5}


def test_kept_bounds_keep_their_counts_when_a_bound_is_removed() -> None:
    cell = _cell((1.0, 2.5, 10.0), [0.5, 1.0, 2.0, 11.0, 7.0])
    # 2.5 removed: its count joins 10; the cumulative counts at 1, 10 and +Inf are unchanged.
    assert cell_counts(cell, (1.0, 10.0)) == ([2, 2, 1], 21.5)  # type: ignore[arg-type]
    assert observe_cell(cell, (1.0, 10.0), 3.0) == {"counts": {"1": 2, "10": 3, "+Inf": 1}, "sum": 24.5}  # type: ignore[arg-type]


def test_a_new_bound_starts_the_series_again() -> None:
    """Counts cannot be split at a bound they were not counted with: the series restarts at zero
    (a counter reset, as after a restart), and counts from there under the new bounds."""
    cell = _cell((1.0, 10.0), [0.5, 5.0, 20.0])
    assert cell_counts(cell, (1.0, 2.5, 10.0)) == ([0, 0, 0, 0], 0.0)  # type: ignore[arg-type]
    assert observe_cell(cell, (1.0, 2.5, 10.0), 2.0) == {  # type: ignore[arg-type]
        "counts": {"1": 0, "2.5": 1, "10": 0, "+Inf": 0},
        "sum": 2.0,
    }


def test_a_bound_is_stored_exactly() -> None:
    assert set(new_cell((0.1, 1e16, 21600.0))["counts"]) == {"0.1", "1e+16", "21600", "+Inf"}


def test_unversioned_values_are_format_0_and_upgrade() -> None:
    v0_totals = {
        "o": 7,
        "c": {
            "medalliance_events_total\x1fbeds\x1fbed.admit": 3.0,
            "day\x1ff1\x1foutpatient\x1f2026-11-22": 2.0,
            "medalliance_event_delay_seconds\x1fbeds": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 9000.5],
        },
    }
    bounds = ["0.1", "0.25", "0.5", "1", "2", "5", "10", "30", "60", "120", "300", "900", "3600"]
    delay_counts = {**dict.fromkeys(bounds, 0), "0.1": 1, "+Inf": 2}
    assert upgrade("t|0|", v0_totals) == {
        "version": VERSION,
        "offset": 7,
        "counters": {
            "events\x1fbeds\x1fbed.admit": 3.0,
            "visits_day\x1ff1\x1foutpatient\x1f2026-11-22": 2.0,
            "event_delay\x1fbeds": {"counts": delay_counts, "sum": 9000.5},
        },
    }
    v0_visit = {
        "o": 9,
        "fx": {"9": [["inc", "medalliance_visits_total\x1ff1\x1femergency", 1.0]]},
        "s": {"a": [1.0, 9], "t": None, "d": None, "last": 1.0},
    }
    assert upgrade("e|0|f1|v1", v0_visit) == {
        "version": VERSION,
        "offset": 9,
        "effects": {"9": [["inc", "visits\x1ff1\x1femergency", 1.0]]},
        "state": {"arrival": [1.0, 9], "triage": None, "departure": None, "last": 1.0},
    }
    v0_beds = {"o": 2, "fx": {}, "s": {"w": {"icu": {"c": [1.0, 1, 16, 12], "m": [[2.0, 2, "e", 1]]}}}}
    assert upgrade("b|0|f1", v0_beds)["state"] == {
        "wards": {"icu": {"census": [1.0, 1, 16, 12], "movements": [[2.0, 2, "e", 1]]}}
    }
    v0_request = {
        "o": 4,
        "fx": {},
        "s": {"sub": [0.0, 3], "cat": "stroke", "from": "a", "to": "b", "st": {}, "last": 0.0},
    }
    assert upgrade("r|0|q1", v0_request)["state"] == {
        "submitted": [0.0, 3],
        "category": "stroke",
        "from_facility": "a",
        "to_facility": "b",
        "stages": {},
        "last": 0.0,
    }
    assert upgrade("d|0|20414|0", {"m": "ab"}) == {"version": VERSION, "ids": "ab"}


def test_a_newer_format_is_refused_in_one_line() -> None:
    with pytest.raises(StateVersionError) as refused:
        upgrade("t|3|", {"version": VERSION + 1, "offset": 5})
    message = str(refused.value)
    assert "\n" not in message and "'t|3|'" in message and f"format {VERSION + 1}" in message


def test_a_batch_meeting_a_newer_format_writes_nothing(registry: Registry) -> None:
    settings = load_settings()
    rules = Rules(
        feed="visits",
        registry=registry,
        retention=settings.retention,
        zone=settings.zone,
        centers=settings.policy.centers,
        referrals=settings.policy.referrals,
    )
    newer = {"version": VERSION + 1, "offset": 3}
    store = DictStore({"t|0|": newer})
    with pytest.raises(StateVersionError):
        process_batch(store, rules, partition=0, messages=[Message(4, b"{}")], now=NOW, markers=Markers(0))
    assert store.data == {"t|0|": newer}


def test_unknown_keys_series_and_newer_values_are_skipped_and_counted(registry: Registry) -> None:
    counters: dict[str, object] = {"not_a_series_id\x1fx": 4.0}
    apply_effects(counters, [inc(EVENTS, "beds", "bed.admit")])
    items = [
        ("t|0|", {"version": VERSION, "offset": 1, "counters": counters}),
        ("x|0|whatever", {"version": VERSION}),
        ("nonsense", {}),
        ("r|0|q9", {"version": VERSION + 1, "offset": 1, "effects": {}, "state": {}}),
    ]
    read = partition_samples(items, readout(registry, NOW))
    assert [(spec.name, labels, value) for spec, labels, value in read.samples] == [
        (EVENTS.name, ("beds", "bed.admit"), 1.0)
    ]
    assert read.unread == Counter({"unknown_key": 2, "unknown_series": 1, "newer_version": 1})
    assert [key for key, _, _ in readable(items)] == ["t|0|"]


def test_a_renamed_metric_keeps_its_counts(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    counters: dict[str, object] = {}
    apply_effects(
        counters,
        [inc(EVENTS, "beds", "bed.admit"), observe(REQUEST_STAGE_SECONDS, "stroke", "accepted", value=90.0)],
    )
    renamed = dataclasses.replace(EVENTS, name="medalliance_accepted_events_total")
    monkeypatch.setitem(SERIES, "events", renamed)
    items = [("t|0|", {"version": VERSION, "offset": 1, "counters": counters})]
    names = {spec.name: value for spec, _, value in partition_samples(items, readout(registry, NOW)).samples}
    assert names["medalliance_accepted_events_total"] == 1.0
    assert names[REQUEST_STAGE_SECONDS.name] == ([0, 1] + [0] * 14, 90.0)


def test_every_series_the_totals_keep_has_one_stable_id() -> None:
    specs: list[MetricSpec] = list(SERIES.values())
    assert len(set(specs)) == len(specs)
    written = {spec for spec in CATALOG if spec.type in ("counter", "histogram")}
    assert written <= set(specs)
