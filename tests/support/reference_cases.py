"""The reference for clinical cases: intervals, compliance, bypass shares and running clocks from a log.

    >>> figures = case_figures(log, now=now)
    >>> clocks_over(log, now=now, moments=[...])  # the clocks as scrapes at other moments read them
    >>> figures.intervals["door_to_wire"]        # [(seconds, within), ...] in the order completed
    >>> figures.compliance("door_to_wire")       # share within, or None with no case
    >>> figures.clocks[("door_to_wire", "due_soon")]

Written from docs/contract.md ("Clinical cases") and docs/centers.md, with the standards typed by
hand in tests/support/contract.py; it imports nothing of the code under test. Each rule is read the
plain way over the whole log: group the kept events by case_id, take the first event of each
(category, milestone), the latest bypass flag by occurred_at, and judge every standard on the result.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.support.contract import (
    CASE_BUCKETS,
    CENTER_BYPASS,
    CENTER_DUE_SOON_FRACTION,
    CENTER_STANDARDS,
    CenterStandard,
    bucket_label,
)
from tests.support.reference import Published, accepted_events
from tests.support.reference_decode import parse_time


@dataclass
class CaseFigures:
    intervals: dict[str, list[tuple[float, bool]]] = field(default_factory=lambda: defaultdict(list))
    bypass: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    clocks: Counter[tuple[str, str]] = field(default_factory=Counter)  # (standard, status) -> open cases
    # The same as metric samples, labelled by category, standard and the center whose door counts.
    samples: Counter[tuple[str, frozenset[tuple[str, str]]]] = field(default_factory=Counter)

    def compliance(self, standard: str) -> float | None:
        done = self.intervals.get(standard, [])
        return sum(within for _, within in done) / len(done) if done else None

    def bypass_share(self, rule: str) -> float | None:
        done = self.bypass.get(rule, [])
        return sum(done) / len(done) if done else None


def _ts(event: dict[str, Any]) -> float:
    return parse_time(event["occurred_at"]).timestamp()


def case_figures(log: list[Published], *, now: datetime) -> CaseFigures:
    """The figures of the log's cases, `now` being the service's clock."""
    figures = CaseFigures()
    for events in _cases(log, now).values():
        _judge(figures, events, now.timestamp())
    return figures


def clocks_over(
    log: list[Published], *, now: datetime, moments: list[datetime]
) -> list[Counter[tuple[str, str]]]:
    """The running clocks a live service reads at each of `moments`, having received every event
    when it occurred (the log judged at `now`)."""
    cases = _cases(log, now)
    readings = []
    for moment in moments:
        figures, at = CaseFigures(), moment.timestamp()
        for events in cases.values():
            _judge(figures, [(i, e) for i, e in events if _ts(e) <= at], at)
        readings.append(figures.clocks)
    return readings


def _cases(log: list[Published], now: datetime) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    cases: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for index, event in accepted_events(log, now=now):
        if event["type"].startswith("case."):
            cases[event["case_id"]].append((index, event))
    return cases


def _judge(figures: CaseFigures, events: list[tuple[int, dict[str, Any]]], now: float) -> None:
    opened = next((e for _, e in events if e["type"] == "case.opened"), None)
    if opened is None:
        return  # a case counts once its case.opened is accepted
    category = opened["category"]
    reached: dict[str, dict[str, Any]] = {}
    for _, event in events:
        if event["type"] == "case.milestone" and event["category"] == category:
            reached.setdefault(event["milestone"], event)
    facts = {
        "diagnosis": reached.get("diagnosis", {}).get("diagnosis"),
        "strategy": (reached.get("reperfusion_strategy") or reached.get("decision_to_deliver") or {}).get(
            "strategy"
        ),
        "arrival": opened["arrival_mode"],
    }
    is_closed = any(e["type"] == "case.closed" for _, e in events)
    center = opened["door_facility_id"]
    out = figures.samples
    if not is_closed:
        out[("medalliance_cases_open", _labels(category=category, facility=center))] += 1
    for standard in CENTER_STANDARDS:
        if standard.category != category or not _counts(standard, facts):
            continue
        start, end = reached.get(standard.start), reached.get(standard.end)
        if start is not None and end is not None:
            seconds = max(0.0, _ts(end) - _ts(start))
            within = seconds <= standard.minutes * 60
            figures.intervals[standard.id].append((seconds, within))
            _observe_interval(out, _labels(category=category, interval=standard.id, facility=center), seconds)
            if within:
                out[
                    (
                        "medalliance_case_intervals_within_total",
                        _labels(category=category, interval=standard.id, facility=center),
                    )
                ] += 1
        elif start is not None and not is_closed:
            status = _status(now - _ts(start), standard.minutes * 60)
            figures.clocks[(standard.id, status)] += 1
            if status != "ok":
                labels = _labels(category=category, interval=standard.id, facility=center)
                out[(f"medalliance_case_clocks_{status}", labels)] += 1
    if is_closed:
        for rule, units in CENTER_BYPASS:
            if rule.category == category and _counts(rule, facts):
                went = all(_latest_flag(events, unit) for unit in units)
                figures.bypass[rule.id].append(went)
                labels = _labels(
                    category=category, standard=rule.id, facility=center, bypassed="true" if went else "false"
                )
                out[("medalliance_case_bypass_total", labels)] += 1


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def _observe_interval(
    out: Counter[tuple[str, frozenset[tuple[str, str]]]], labels: frozenset[tuple[str, str]], seconds: float
) -> None:
    """One observation of the interval histogram: count, sum and each cumulative bucket."""
    name = "medalliance_case_interval_seconds"
    out[(f"{name}_count", labels)] += 1
    out[(f"{name}_sum", labels)] += seconds  # type: ignore[assignment]
    for bound in (*CASE_BUCKETS, float("inf")):
        if seconds <= bound:
            out[(f"{name}_bucket", labels | {("le", bucket_label(bound))})] += 1


def _counts(standard: CenterStandard, facts: dict[str, str | None]) -> bool:
    wanted = (
        ("diagnosis", standard.diagnosis),
        ("strategy", standard.strategy),
        ("arrival", standard.arrival),
    )
    return all(not allowed or facts[name] in allowed for name, allowed in wanted)


def _status(elapsed: float, standard: float) -> str:
    if elapsed >= standard:
        return "overdue"
    return "due_soon" if elapsed >= CENTER_DUE_SOON_FRACTION * standard else "ok"


def _latest_flag(events: list[tuple[int, dict[str, Any]]], unit: str) -> bool:
    carrying = [
        (_ts(e), i, e[f"bypassed_{unit}"]) for i, e in events if e.get(f"bypassed_{unit}") is not None
    ]
    return bool(max(carrying)[2]) if carrying else False
