"""Clinical cases: intervals, filters, order, bypass and running clocks, with values worked out by hand.

The standards are typed here (not read from the shipped policy) so each expected number follows from
this file alone: door -> wire 90 min for primary-PCI STEMI, FMC -> ECG 10 min for every chest-pain
case, cath-lab activation 30 min, and the 80% due-soon share.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, Final

import orjson
import pytest

from schemas.decode import Rejection, decode
from schemas.events import EVENT_ADAPTER, CaseEvent
from schemas.policy import Centers, shipped_policy
from schemas.registry import Registry, load_registry
from streams.domain.cases import (
    BypassOutcome,
    CaseChanges,
    CaseState,
    CompletedInterval,
    apply_case_event,
    new_case,
    running_clocks,
)
from streams.domain.clocks import clock_status
from streams.simulate import encode, generate
from streams.simulate.wire import message_key
from tests.support.faults import with_duplicates_and_shuffle
from tests.support.reference import Published
from tests.support.reference_cases import case_figures, clocks_over

CST: Final = timezone(timedelta(hours=8))
DOOR: Final = datetime(2026, 11, 22, 8, 0, tzinfo=CST)
PEOPLE: Final = "yx-ch-people"
CENTERS: Final = Centers.model_validate(
    {
        "intervals": [
            {"id": "fmc_to_ecg", "category": "chest_pain", "basis": "national",
             "start": "first_medical_contact", "end": "first_ecg", "minutes": 10, "target": 0.75},
            {"id": "door_to_wire", "category": "chest_pain", "basis": "national", "start": "door",
             "end": "wire_crossed", "minutes": 90,
             "when": {"diagnosis": ["stemi"], "strategy": ["primary_pci"]}},
            {"id": "cath_lab", "category": "chest_pain", "basis": "national", "start": "cath_lab_activated",
             "end": "cath_lab_ready", "minutes": 30, "when": {"diagnosis": ["stemi"]}},
        ],
        "bypass": [
            {"id": "ems_bypass", "category": "chest_pain", "basis": "national", "bypassed": ["ed", "ccu"],
             "target": 0.3, "when": {"diagnosis": ["stemi"], "arrival": ["ambulance_120", "transfer"]}},
        ],
        "due_soon_share": 0.8,
        "compliance_window_days": 30,
        "compliance_min_cases": 5,
    }
)  # fmt: skip
_ids = itertools.count()
Event = dict[str, Any]


@cache
def registry_of() -> Registry:
    return load_registry()


def _at(minutes: float) -> str:
    return (DOOR + timedelta(minutes=minutes)).isoformat()


def opened(minutes: float = 0, *, arrival: str = "walk_in", category: str = "chest_pain") -> CaseEvent:
    return _event("case.opened", minutes, category=category, arrival_mode=arrival, door_facility_id=PEOPLE)


def milestone(name: str, minutes: float, *, category: str = "chest_pain", **extra: Any) -> CaseEvent:
    return _event("case.milestone", minutes, category=category, milestone=name, **extra)


def closed(minutes: float) -> CaseEvent:
    return _event("case.closed", minutes)


def _event(kind: str, minutes: float, **fields: Any) -> CaseEvent:
    return EVENT_ADAPTER.validate_python(  # type: ignore[return-value]
        {
            "event_id": f"e{next(_ids)}",
            "type": kind,
            "schema_version": 1,
            "facility_id": PEOPLE,
            "occurred_at": _at(minutes),
            "case_id": "c-1",
            **fields,
        }
    )


def stemi_pci(wire_minutes: float = 95) -> list[CaseEvent]:
    """A walk-in primary-PCI STEMI: door 08:00, FMC 08:00, ECG 08:06, STEMI 08:12, PCI chosen 08:15,
    cath lab called 08:16 and ready 08:40, wire crossed at `wire_minutes`."""
    return [
        opened(0),
        milestone("door", 0),
        milestone("first_medical_contact", 0),
        milestone("first_ecg", 6),
        milestone("diagnosis", 12, diagnosis="stemi"),
        milestone("reperfusion_strategy", 15, strategy="primary_pci"),
        milestone("cath_lab_activated", 16),
        milestone("cath_lab_ready", 40),
        milestone("wire_crossed", wire_minutes),
    ]


def replay(events: list[CaseEvent], case: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[Any]]:
    case = new_case() if case is None else case
    completed: list[Any] = []
    for seq, event in enumerate(events):
        changes = apply_case_event(case, event, seq=seq, centers=CENTERS)
        completed += changes.intervals + changes.bypass
    return case, completed


def test_a_late_balloon_breaches_door_to_wire_and_the_rest_is_within() -> None:
    _, completed = replay(stemi_pci(wire_minutes=95))
    # FMC -> ECG 6 min (360 s); cath lab 16 -> 40 min (1440 s); door -> wire 95 min (5700 s) > 90.
    assert completed == [
        CompletedInterval("fmc_to_ecg", 360.0, True),
        CompletedInterval("cath_lab", 1440.0, True),
        CompletedInterval("door_to_wire", 5700.0, False),
    ]


def test_exactly_ninety_minutes_is_within() -> None:
    _, completed = replay(stemi_pci(wire_minutes=90))
    assert CompletedInterval("door_to_wire", 5400.0, True) in completed


@pytest.mark.parametrize("order", [list(range(9))[::-1], [8, 3, 0, 5, 1, 7, 2, 4, 6]])
def test_any_arrival_order_gives_the_same_intervals_once(order: list[int]) -> None:
    events = stemi_pci()
    _, completed = replay([events[i] for i in order])
    assert sorted(completed) == sorted(
        [
            CompletedInterval("fmc_to_ecg", 360.0, True),
            CompletedInterval("cath_lab", 1440.0, True),
            CompletedInterval("door_to_wire", 5700.0, False),
        ]
    )


def test_the_interval_completes_when_the_last_fact_arrives_even_the_diagnosis() -> None:
    events = stemi_pci()
    diagnosis = events.pop(4)
    case, completed = replay(events)
    assert [c.standard for c in completed] == ["fmc_to_ecg"]  # not yet a STEMI: nothing else counts
    changes = apply_case_event(case, diagnosis, seq=99, centers=CENTERS)
    assert changes.intervals == [
        CompletedInterval("door_to_wire", 5700.0, False),
        CompletedInterval("cath_lab", 1440.0, True),
    ]


def test_the_first_event_of_a_milestone_fixes_it() -> None:
    case, _ = replay(stemi_pci(wire_minutes=95))
    # A second wire_crossed (a resend with a new id, an earlier time) changes nothing.
    changes = apply_case_event(case, milestone("wire_crossed", 60), seq=50, centers=CENTERS)
    assert changes.intervals == [] and case["ms"]["chest_pain/wire_crossed"][0] == DOOR.timestamp() + 5700


@pytest.mark.parametrize(("diagnosis", "strategy"), [("nstemi", "primary_pci"), ("stemi", "thrombolysis")])
def test_door_to_wire_counts_only_primary_pci_stemi(diagnosis: str, strategy: str) -> None:
    events = stemi_pci()
    events[4] = milestone("diagnosis", 12, diagnosis=diagnosis)
    events[5] = milestone("reperfusion_strategy", 15, strategy=strategy)
    _, completed = replay(events)
    assert "door_to_wire" not in {c.standard for c in completed}


def test_a_milestone_of_another_category_counts_for_nothing() -> None:
    case, completed = replay(
        [opened(0), milestone("first_medical_contact", 0, category="stroke"), milestone("first_ecg", 5)]
    )
    assert completed == [] and running_clocks(case, CENTERS, now=DOOR.timestamp() + 3600) == []


def test_a_wire_before_the_door_counts_as_zero() -> None:
    events = stemi_pci(wire_minutes=-5)  # clocks of two systems disagree
    _, completed = replay(events)
    assert CompletedInterval("door_to_wire", 0.0, True) in completed


def _door_to_wire_clock(case: dict[str, Any], minutes_after_door: float) -> str | None:
    now = DOOR.timestamp() + minutes_after_door * 60
    clocks = {clock.standard: clock for clock in running_clocks(case, CENTERS, now=now)}
    return clocks["door_to_wire"].status if "door_to_wire" in clocks else None


def test_the_running_door_to_wire_clock_turns_amber_at_72_and_red_at_90_minutes() -> None:
    case, _ = replay(stemi_pci()[:-1])  # no wire yet
    # 80% of 90 min is 72 min (4320 s).
    assert _door_to_wire_clock(case, 71.99) == "ok"
    assert _door_to_wire_clock(case, 72) == "due_soon"
    assert _door_to_wire_clock(case, 89.99) == "due_soon"
    assert _door_to_wire_clock(case, 90) == "overdue"
    clocks = running_clocks(case, CENTERS, now=DOOR.timestamp() + 100 * 60)
    assert [(c.standard, c.elapsed) for c in clocks] == [("door_to_wire", 6000.0)]


def test_no_clock_before_the_case_counts_for_it_or_after_it_closes() -> None:
    before_diagnosis, _ = replay(stemi_pci()[:4])
    assert _door_to_wire_clock(before_diagnosis, 80) is None
    case, _ = replay([*stemi_pci()[:-1], closed(50)])
    assert running_clocks(case, CENTERS, now=DOOR.timestamp() + 80 * 60) == []
    unopened, _ = replay(stemi_pci()[1:-1])  # no case.opened: the category is unknown
    assert running_clocks(unopened, CENTERS, now=DOOR.timestamp() + 80 * 60) == []


def test_a_bypass_counts_once_on_closing_with_the_latest_flags() -> None:
    events = [opened(0, arrival="ambulance_120"), milestone("diagnosis", 10, diagnosis="stemi")]
    events += [
        milestone("door", 0, bypassed_ed=True, bypassed_ccu=False),
        milestone("cath_lab_ready", 30, bypassed_ccu=True),
        # Published later but happened earlier: it does not override the 08:30 flag.
        milestone("first_ecg", 5, bypassed_ccu=False),
    ]
    case, completed = replay(events)
    assert [c for c in completed if isinstance(c, BypassOutcome)] == []  # still open
    _, completed = replay([closed(120), closed(130)], case)
    assert completed == [BypassOutcome("ems_bypass", True)]


def test_a_walk_in_is_not_counted_by_the_ambulance_bypass_share() -> None:
    _, completed = replay([opened(0), milestone("diagnosis", 10, diagnosis="stemi"), closed(60)])
    assert completed == []


@pytest.mark.parametrize(
    ("elapsed", "expected"), [(479.0, "ok"), (480.0, "due_soon"), (599.0, "due_soon"), (600.0, "overdue")]
)
def test_the_clock_rule_both_sides_of_each_line(elapsed: float, expected: str) -> None:
    assert clock_status(elapsed, standard=600.0, due_soon_share=0.8) == expected


START: Final = datetime(2026, 11, 21, 6, 0, tzinfo=CST)
NOW: Final = START + timedelta(days=1)


def simulated_cases() -> list[Event]:
    """A simulated day's case events, the d2b-breach case among them (door 06:05, wire 07:45)."""
    events = generate(registry_of(), seed=4, start=START, duration=timedelta(days=1), scenario="d2b-breach")
    return [e for e in events if e["type"].startswith("case.")]


def through_the_domain(
    log: list[Published], cases: dict[str, CaseState], seen: set[str], first_seq: int = 0
) -> CaseChanges:
    """decode, the pipeline's dedupe (ahead of every domain module), then this module."""
    done = CaseChanges()
    for seq, message in enumerate(log, start=first_seq):
        event = decode(message.value, "requests", registry=registry_of(), now=NOW)
        assert not isinstance(event, Rejection), event
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        case = cases.setdefault(event.case_id, new_case())  # type: ignore[attr-defined]
        changes = apply_case_event(case, event, seq=seq, centers=shipped_policy().centers)  # type: ignore[arg-type]
        done.intervals.extend(changes.intervals)
        done.bypass.extend(changes.bypass)
    return done


def _published(events: Iterable[Event]) -> list[Published]:
    return [Published("requests", message_key(e).encode(), encode(e), None) for e in events]


def test_the_domain_agrees_with_the_reference_on_a_noisy_simulated_day() -> None:
    """Duplicated and locally shuffled, with the shipped policy against the hand-typed reference."""
    log = _published(
        with_duplicates_and_shuffle(simulated_cases(), seed=4, duplicate_fraction=0.1, shuffle_window=30)
    )
    done = through_the_domain(log, {}, set())
    intervals, bypass = defaultdict(list), defaultdict(list)
    for interval in done.intervals:
        intervals[interval.standard].append((interval.seconds, interval.within))
    for outcome in done.bypass:
        bypass[outcome.standard].append(outcome.bypassed)
    expected = case_figures(log, now=NOW)
    assert {k: sorted(v) for k, v in intervals.items()} == {
        k: sorted(v) for k, v in expected.intervals.items()
    }
    assert {k: sorted(v) for k, v in bypass.items()} == {k: sorted(v) for k, v in expected.bypass.items()}
    assert len(intervals["door_to_wire"]) >= 2 and (6000.0, False) in intervals["door_to_wire"]  # d2b-breach


def test_the_live_clocks_agree_with_the_reference_every_five_minutes() -> None:
    log = _published(simulated_cases())  # in occurred_at order, as they happen
    moments = [START + timedelta(minutes=5 * step) for step in range(1, 24 * 12)]
    cases: dict[str, CaseState] = {}
    seen: set[str] = set()
    applied = 0
    readings = clocks_over(log, now=NOW, moments=moments)
    for moment, reading in zip(moments, readings, strict=True):
        due = [
            m for m in log[applied:] if datetime.fromisoformat(orjson.loads(m.value)["occurred_at"]) <= moment
        ]
        through_the_domain(due, cases, seen, first_seq=applied)
        applied += len(due)
        clocks = Counter(
            (clock.standard, clock.status)
            for case in cases.values()
            for clock in running_clocks(case, shipped_policy().centers, now=moment.timestamp())
        )
        assert clocks == reading, moment
    # The d2b-breach case at 07:20 (75 min after its door): due soon; at 07:40 (95 min): overdue.
    assert readings[moments.index(START + timedelta(minutes=80))][("door_to_wire", "due_soon")] >= 1
    assert readings[moments.index(START + timedelta(minutes=100))][("door_to_wire", "overdue")] >= 1
