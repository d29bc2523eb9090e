"""Clinical cases of the five centers: milestones, completed intervals and running clocks (pure).

    >>> case = new_case()
    >>> apply_case_event(case, opened, seq=1, centers=policy.centers)      # case.opened
    CaseChanges(intervals=[], bypass=[])
    >>> apply_case_event(case, wire, seq=9, centers=policy.centers).intervals
    [CompletedInterval(standard='door_to_wire', seconds=4980.0, within=True)]
    >>> running_clocks(case, policy.centers, now=now)
    [RunningClock(standard='fmc_to_ecg', elapsed=420.0, status='ok')]

A case value (JSON-able, for a Faust table like a request's) keeps `open` ([at, seq] of the first
`case.opened`) with `cat`, `arr`, `door` fixed by it; `ms` {"<category>/<milestone>": [at, seq,
facility, detail]} where the first accepted event of a milestone fixes it; `flags` {"ed"|"ccu":
[at, seq, bypassed]} the latest by (occurred_at, seq); `closed` ([at, seq] of the first
`case.closed`); `done`, the standards already recorded, so each is recorded exactly once however
the events are ordered; `last`, the latest occurred_at (retention).

Milestones are keyed by their own category: the case's is known only once `case.opened` arrives,
which may be last, and a milestone of another category must then count for nothing.
Duplicates (same event_id) never reach this module: the pipeline drops them first, for every feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from schemas.events import CaseClosed, CaseEvent, CaseMilestone, CaseOpened
from schemas.policy import BypassStandard, CaseFilter, Centers, IntervalStandard
from streams.domain.clocks import ClockStatus, clock_status

CaseState = dict[str, Any]
_FLAG_FIELDS: Final = {"ed": "bypassed_ed", "ccu": "bypassed_ccu"}
_MINUTE: Final = 60.0


class CompletedInterval(NamedTuple):
    standard: str
    seconds: float
    within: bool


class BypassOutcome(NamedTuple):
    standard: str
    bypassed: bool


class RunningClock(NamedTuple):
    standard: str
    elapsed: float
    status: ClockStatus


@dataclass(frozen=True, slots=True)
class CaseChanges:
    """What one event completed: intervals to observe, bypass outcomes to count."""

    intervals: list[CompletedInterval] = field(default_factory=list)
    bypass: list[BypassOutcome] = field(default_factory=list)


def new_case() -> CaseState:
    return {
        "open": None, "cat": None, "arr": None, "door": None,
        "ms": {}, "flags": {}, "closed": None, "done": [], "last": 0.0,
    }  # fmt: skip


def apply_case_event(case: CaseState, event: CaseEvent, *, seq: int, centers: Centers) -> CaseChanges:
    """Apply a case.* event (seq: its partition offset, for ties); return what it completed."""
    at = event.occurred_at.timestamp()
    case["last"] = max(case["last"], at)
    if isinstance(event, CaseOpened):
        if case["open"] is None:
            case.update(
                open=[at, seq], cat=event.category, arr=event.arrival_mode, door=event.door_facility_id
            )
    elif isinstance(event, CaseMilestone):
        _apply_milestone(case, event, at, seq)
    elif isinstance(event, CaseClosed) and case["closed"] is None:
        case["closed"] = [at, seq]
    return _newly_completed(case, centers)


def _apply_milestone(case: CaseState, event: CaseMilestone, at: float, seq: int) -> None:
    key = f"{event.category}/{event.milestone}"
    if key not in case["ms"]:
        detail = event.diagnosis or event.strategy
        case["ms"][key] = [at, seq, event.facility_id, detail]
    for flag, name in _FLAG_FIELDS.items():
        value = getattr(event, name)
        known = case["flags"].get(flag)
        if value is not None and (known is None or (at, seq) > (known[0], known[1])):
            case["flags"][flag] = [at, seq, value]


def milestone_at(case: CaseState, milestone: str) -> float | None:
    """When the case reached a milestone of its own category, or None (or no category yet)."""
    entry = case["ms"].get(f"{case['cat']}/{milestone}")
    return None if entry is None else float(entry[0])


def _detail(case: CaseState, milestone: str) -> str | None:
    entry = case["ms"].get(f"{case['cat']}/{milestone}")
    return None if entry is None else entry[3]


def diagnosis_of(case: CaseState) -> str | None:
    return _detail(case, "diagnosis")


def strategy_of(case: CaseState) -> str | None:
    # Chest pain and stroke choose a reperfusion strategy; a maternal case's is the delivery decided.
    return _detail(case, "reperfusion_strategy") or _detail(case, "decision_to_deliver")


def matches(case: CaseState, when: CaseFilter) -> bool:
    """Whether an opened case is one a standard counts; a value not known yet does not match."""
    return all(
        allowed is None or value in allowed
        for allowed, value in (
            (when.diagnosis, diagnosis_of(case)),
            (when.strategy, strategy_of(case)),
            (when.arrival, case["arr"]),
        )
    )


def applies(case: CaseState, standard: IntervalStandard | BypassStandard) -> bool:
    return case["open"] is not None and standard.category == case["cat"] and matches(case, standard.when)


def is_open(case: CaseState) -> bool:
    return case["open"] is not None and case["closed"] is None


def interval_seconds(case: CaseState, standard: IntervalStandard) -> float | None:
    """end − start of a standard's interval (negative as 0), None until both milestones are known."""
    start, end = milestone_at(case, standard.start), milestone_at(case, standard.end)
    return None if start is None or end is None else max(0.0, end - start)


def bypassed(case: CaseState, rule: BypassStandard) -> bool:
    """Whether the latest flags say the case bypassed every unit the rule lists."""
    return all(bool(case["flags"].get(unit, [0, 0, False])[2]) for unit in rule.bypassed)


def _newly_completed(case: CaseState, centers: Centers) -> CaseChanges:
    changes = CaseChanges()
    for standard in centers.intervals:
        seconds = interval_seconds(case, standard)
        if standard.id in case["done"] or seconds is None or not applies(case, standard):
            continue
        case["done"].append(standard.id)
        changes.intervals.append(
            CompletedInterval(standard.id, seconds, seconds <= standard.minutes * _MINUTE)
        )
    if case["closed"] is not None:  # a bypass share counts closed cases: the flags are final then
        for rule in centers.bypass:
            if rule.id not in case["done"] and applies(case, rule):
                case["done"].append(rule.id)
                changes.bypass.append(BypassOutcome(rule.id, bypassed(case, rule)))
    return changes


def running_clocks(case: CaseState, centers: Centers, *, now: float) -> list[RunningClock]:
    """The open case's intervals that have started and not ended, against their standards at `now`."""
    if not is_open(case):
        return []
    clocks = []
    for standard in centers.intervals:
        start = milestone_at(case, standard.start)
        if start is None or milestone_at(case, standard.end) is not None or not applies(case, standard):
            continue
        elapsed = max(0.0, now - start)
        status = clock_status(
            elapsed, standard=standard.minutes * _MINUTE, due_soon_share=centers.due_soon_share
        )
        clocks.append(RunningClock(standard.id, elapsed, status))
    return clocks
