"""Ward occupancy rules of EVENTS.md, case by case (expected values worked out by hand)."""

from __future__ import annotations

from streams.domain.beds import apply_cancel, apply_census, apply_movement, new_facility_beds, ward_figures


def test_before_any_census_nominal_beds_and_net_admissions_floored() -> None:
    state = new_facility_beds()
    apply_movement(state, "icu", at=10, seq=1, event_id="d1", delta=-1)  # floor: stays 0
    apply_movement(state, "icu", at=20, seq=2, event_id="a1", delta=+1)
    assert ward_figures(state, "icu", nominal_beds=16) == (16, 1)


def test_floor_is_applied_in_occurred_at_order_not_arrival_order() -> None:
    state = new_facility_beds()
    # Arrives first but happened later: admit at t=20; then a discharge at t=10 arrives.
    apply_movement(state, "w", at=20, seq=1, event_id="a", delta=+1)
    apply_movement(state, "w", at=10, seq=2, event_id="d", delta=-1)
    # In time order: discharge (0, floored) then admit (1).
    assert ward_figures(state, "w", nominal_beds=5) == (5, 1)


def test_census_replaces_and_movements_at_or_before_it_are_ignored() -> None:
    state = new_facility_beds()
    apply_movement(state, "w", at=50, seq=1, event_id="a1", delta=+1)
    apply_census(state, "w", at=100, seq=2, staffed=30, occupied=20)
    apply_movement(state, "w", at=100, seq=3, event_id="a2", delta=+1)  # == census time: reflected
    apply_movement(state, "w", at=90, seq=4, event_id="a3", delta=+1)  # before: reflected
    apply_movement(state, "w", at=110, seq=5, event_id="a4", delta=+1)
    assert ward_figures(state, "w", nominal_beds=10) == (30, 21)


def test_census_after_movements_drops_the_covered_ones_only() -> None:
    state = new_facility_beds()
    apply_movement(state, "w", at=150, seq=1, event_id="a1", delta=+1)
    apply_movement(state, "w", at=90, seq=2, event_id="a2", delta=+1)
    apply_census(state, "w", at=100, seq=3, staffed=30, occupied=20)  # arrives late
    assert ward_figures(state, "w", nominal_beds=10) == (30, 21)


def test_older_census_does_not_replace_newer_and_ties_go_by_partition_order() -> None:
    state = new_facility_beds()
    apply_census(state, "w", at=100, seq=5, staffed=30, occupied=20)
    apply_census(state, "w", at=90, seq=6, staffed=30, occupied=5)
    assert ward_figures(state, "w", nominal_beds=10) == (30, 20)
    apply_census(state, "w", at=100, seq=7, staffed=31, occupied=22)  # same time, later in partition
    assert ward_figures(state, "w", nominal_beds=10) == (31, 22)


def test_corridor_beds_occupied_above_staffed() -> None:
    state = new_facility_beds()
    apply_census(state, "w", at=100, seq=1, staffed=10, occupied=10)
    apply_movement(state, "w", at=101, seq=2, event_id="a", delta=+1)
    assert ward_figures(state, "w", nominal_beds=10) == (10, 11)


def test_cancel_undoes_both_sides_of_a_transfer_and_is_idempotent() -> None:
    state = new_facility_beds()
    apply_census(state, "a", at=0, seq=1, staffed=10, occupied=5)
    apply_census(state, "b", at=0, seq=2, staffed=10, occupied=5)
    apply_movement(state, "a", at=10, seq=3, event_id="t1", delta=-1)
    apply_movement(state, "b", at=10, seq=3, event_id="t1", delta=+1)
    assert ward_figures(state, "a", nominal_beds=0)[1] == 4
    apply_cancel(state, "t1")
    apply_cancel(state, "t1")
    apply_cancel(state, "unknown")
    assert ward_figures(state, "a", nominal_beds=0)[1] == 5
    assert ward_figures(state, "b", nominal_beds=0)[1] == 5


def test_cancel_of_an_event_not_yet_seen_changes_nothing_later() -> None:
    state = new_facility_beds()
    apply_cancel(state, "a1")
    apply_movement(state, "w", at=10, seq=2, event_id="a1", delta=+1)
    assert ward_figures(state, "w", nominal_beds=3) == (3, 1)
