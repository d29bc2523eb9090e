"""Ward occupancy: the latest census plus the bed movements that occurred after it (EVENTS.md, Beds).

    >>> state = new_facility_beds()
    >>> apply_census(state, "icu", at=100.0, seq=1, staffed=16, occupied=12)
    >>> apply_movement(state, "icu", at=160.0, seq=2, event_id="e2", delta=+1)
    >>> ward_figures(state, "icu", nominal_beds=16)
    (16, 13)

A ward (streams.domain.state.WardState) keeps its latest `census` = [at, seq, staffed, occupied]
and the `movements` after it = [[at, seq, event_id, delta], ...] sorted by (at, seq); seq is the
source offset, so ties in
occurred_at go by partition order. Occupancy is re-folded from the census, floored at 0 each step,
because a late movement can land before others and the floor makes order matter.
"""

from __future__ import annotations

from bisect import insort
from typing import Any

FacilityBeds = dict[str, Any]


def new_facility_beds() -> FacilityBeds:
    return {"wards": {}}


def _ward(state: FacilityBeds, ward: str) -> dict[str, Any]:
    wards: dict[str, Any] = state["wards"]
    if ward not in wards:
        wards[ward] = {"census": None, "movements": []}
    return wards[ward]  # type: ignore[no-any-return]


def apply_census(state: FacilityBeds, ward: str, *, at: float, seq: int, staffed: int, occupied: int) -> None:
    """A census newer (by occurred_at, then partition order) than the ward's latest replaces it."""
    current = _ward(state, ward)
    census = current["census"]
    if census is not None and (at, seq) <= (census[0], census[1]):
        return
    current["census"] = [at, seq, staffed, occupied]
    # Movements at or before the census are already reflected in it.
    current["movements"] = [move for move in current["movements"] if move[0] > at]


def apply_movement(state: FacilityBeds, ward: str, *, at: float, seq: int, event_id: str, delta: int) -> None:
    """One bed more (+1) or less (-1) in a ward, unless the latest census already covers it."""
    current = _ward(state, ward)
    census = current["census"]
    if census is not None and at <= census[0]:
        return
    insort(current["movements"], [at, seq, event_id, delta])


def apply_cancel(state: FacilityBeds, cancelled_event_id: str) -> None:
    """Undo an earlier admit/discharge/transfer, as if it had never been accepted (both wards of a
    transfer). An unknown, already cancelled or census-covered event changes nothing."""
    for current in state["wards"].values():
        if any(move[2] == cancelled_event_id for move in current["movements"]):
            current["movements"] = [move for move in current["movements"] if move[2] != cancelled_event_id]


def ward_figures(state: FacilityBeds, ward: str, *, nominal_beds: int) -> tuple[int, int]:
    """(staffed, occupied) of a ward: census staffed (registry nominal before any census) and the
    census occupancy plus later movements, floored at 0 at each step."""
    current = state["wards"].get(ward)
    if current is None:
        return nominal_beds, 0
    census = current["census"]
    staffed = census[2] if census is not None else nominal_beds
    occupied = census[3] if census is not None else 0
    for move in current["movements"]:
        occupied = max(0, occupied + move[3])
    return staffed, occupied
