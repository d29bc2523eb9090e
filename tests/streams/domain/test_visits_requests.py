"""ED visits and high-risk requests: order-independence and the clocks (expected values by hand)."""

from __future__ import annotations

import itertools

import pytest

from streams.domain.requests import (
    apply_request_event,
    clock_status,
    furthest_stage,
    is_open,
    new_request,
)
from streams.domain.visits import apply_ed_event, in_ed, new_ed_visit, triage_level

ED_EVENTS = [
    ("ed.arrival", 100.0, "walk_in"),
    ("ed.triage", 200.0, 3),
    ("ed.triage", 300.0, 2),
    ("ed.departure", 900.0, "admitted"),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_visit_counted_once_and_same_end_state_in_any_order(order: tuple[int, ...]) -> None:
    visit = new_ed_visit()
    milestones = []
    for seq, index in enumerate(order):
        kind, at, detail = ED_EVENTS[index]
        milestones += apply_ed_event(visit, kind, at=at, seq=seq, detail=detail)
    assert sorted(milestones) == ["arrival", "departure"]
    assert not in_ed(visit)
    assert triage_level(visit) == "2"  # the latest triage by occurred_at


def test_patient_in_ed_until_departure_and_untriaged_before_triage() -> None:
    visit = new_ed_visit()
    assert apply_ed_event(visit, "ed.arrival", at=1, seq=1, detail="ambulance") == ["arrival"]
    assert apply_ed_event(visit, "ed.arrival", at=2, seq=2, detail="walk_in") == []  # counted once
    assert in_ed(visit) and triage_level(visit) == "untriaged"


REQUEST_EVENTS = [
    ("request.submitted", 0.0),
    ("request.accepted", 300.0),
    ("request.dispatched", 600.0),
    ("request.arrived", 2400.0),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_request_observations_once_each_whatever_the_order(order: tuple[int, ...]) -> None:
    request = new_request()
    observed = []
    for seq, index in enumerate(order):
        kind, at = REQUEST_EVENTS[index]
        observed += apply_request_event(
            request, kind, at=at, seq=seq, category="stroke", from_facility="a", to_facility="b"
        )
    assert sorted(observed) == [("accepted", 300.0), ("arrived", 2400.0), ("dispatched", 600.0)]
    assert furthest_stage(request) == "arrived" and is_open(request)


def test_first_event_of_a_stage_fixes_its_time_and_negative_times_count_as_zero() -> None:
    request = new_request()
    apply_request_event(request, "request.accepted", at=50.0, seq=1)
    apply_request_event(request, "request.accepted", at=70.0, seq=2)
    observed = apply_request_event(
        request, "request.submitted", at=100.0, seq=3, category="trauma", from_facility="a", to_facility="b"
    )
    assert observed == [("accepted", 0.0)]


def test_request_not_counted_before_submission_and_closed_by_rejection() -> None:
    request = new_request()
    apply_request_event(request, "request.accepted", at=1.0, seq=1)
    assert not is_open(request)
    apply_request_event(
        request, "request.submitted", at=0.0, seq=2, category="stroke", from_facility="a", to_facility="b"
    )
    assert is_open(request)
    apply_request_event(request, "request.rejected", at=5.0, seq=3)
    assert not is_open(request)


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [(479.0, "ok"), (480.0, "due_soon"), (599.0, "due_soon"), (600.0, "overdue")],
)
def test_acceptance_clock_boundaries_at_80_and_100_percent(elapsed: float, expected: str) -> None:
    request = new_request()
    apply_request_event(
        request, "request.submitted", at=0.0, seq=1, category="stroke", from_facility="a", to_facility="b"
    )
    assert clock_status(request, "accepted", now=elapsed, standard=600.0, due_soon_fraction=0.8) == expected


def test_a_reached_stage_stops_its_clock_even_if_reached_through_a_later_stage() -> None:
    request = new_request()
    apply_request_event(
        request, "request.submitted", at=0.0, seq=1, category="stroke", from_facility="a", to_facility="b"
    )
    apply_request_event(request, "request.dispatched", at=10.0, seq=2)  # accepted never reported
    assert clock_status(request, "accepted", now=10_000.0, standard=600.0, due_soon_fraction=0.8) == "ok"
    assert clock_status(request, "arrived", now=10_000.0, standard=3600.0, due_soon_fraction=0.8) == "overdue"
