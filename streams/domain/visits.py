"""Emergency-department visits: one value per visit, whatever order its events arrive in.

    >>> visit = new_ed_visit()
    >>> apply_ed_event(visit, "ed.departure", at=900.0, seq=7, detail="discharged")
    >>> apply_ed_event(visit, "ed.arrival", at=100.0, seq=9, detail="walk_in")
    ['arrival']
    >>> in_ed(visit)
    False

A visit value (streams.domain.state.VisitState) keeps `arrival` ([at, seq]), `triage` (the latest,
[at, seq, level]), `departure` ([at, seq, disposition]) and `last` (latest occurred_at, for
retention). The first accepted arrival
counts the visit; the first accepted departure counts the disposition.
"""

from __future__ import annotations

from typing import Any, Final, Literal

EdVisit = dict[str, Any]
Milestone = Literal["arrival", "departure"]
UNTRIAGED: Final = "untriaged"


def new_ed_visit() -> EdVisit:
    return {"arrival": None, "triage": None, "departure": None, "last": 0.0}


def apply_ed_event(
    visit: EdVisit, event_type: str, *, at: float, seq: int, detail: str | int
) -> list[Milestone]:
    """Apply an ed.* event; return the milestones it reached for the first time (what is counted)."""
    visit["last"] = max(visit["last"], at)
    if event_type == "ed.arrival":
        if visit["arrival"] is None:
            visit["arrival"] = [at, seq]
            return ["arrival"]
    elif event_type == "ed.triage":
        latest = visit["triage"]
        if latest is None or (at, seq) > (latest[0], latest[1]):
            visit["triage"] = [at, seq, int(detail)]
    elif event_type == "ed.departure" and visit["departure"] is None:
        visit["departure"] = [at, seq, str(detail)]
        return ["departure"]
    return []


def in_ed(visit: EdVisit) -> bool:
    """In the ED from the arrival until the departure, whatever order they arrived in."""
    return visit["arrival"] is not None and visit["departure"] is None


def triage_level(visit: EdVisit) -> str:
    return str(visit["triage"][2]) if visit["triage"] is not None else UNTRIAGED
