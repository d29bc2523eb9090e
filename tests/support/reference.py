"""An independent reference: every contract metric recomputed from a published log in plain Python.

    >>> log = [Published(feed="beds", key=b"yx-ch-people", value=b"{...}", reason=None), ...]
    >>> expected = expected_metrics(log, now=now)
    >>> expected[("medalliance_beds_occupied", frozenset({("facility", "..."), ("ward", "icu")}))]

Written from EVENTS.md, not from the code under test: it replays the whole log in publish order
(= partition order, since all events of a key share a partition and one producer publishes in
order) and computes each figure the direct way (sort, filter, fold). It decodes each message's
bytes itself (tests/support/reference_decode.py, by the contract's precedence of checks); the
`reason` a log's author wrote on a message is what that author expects, and the reference never
reads it.

It imports nothing of the code under test: the facilities, names and ward sizes come from the
shipped registry YAML read here, and the contract's defaults (time zone, long stay, due soon, the
time standards, the retention) are typed in tests/support/contract.py, so a wrong default in the
product cannot pass on both sides. The clinical cases' and the referrals' series come from their
own modules (tests/support/reference_cases.py, reference_referrals.py), the indicators built on
these figures from tests/support/reference_indicators.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.support.contract import (
    ACCEPT_MINUTES,
    ARRIVE_MINUTES,
    DUE_SOON_FRACTION,
    ED_LONG_STAY_HOURS,
    STAGE_BUCKETS,
    STAGES,
    TIMED_STAGES,
    ZONE,
    bucket_label,
)
from tests.support.reference_decode import Verdict, judge, parse_time, shipped_registry, shipped_wards

Labels = frozenset[tuple[str, str]]
Expected = dict[tuple[str, Labels], float]
STAGE_ORDER = list(STAGES)


def _standard_seconds(category: str, clock: str) -> float:
    return (ACCEPT_MINUTES if clock == "accepted" else ARRIVE_MINUTES)[category] * 60.0


@dataclass(frozen=True)
class Published:
    feed: str
    key: bytes | None
    value: bytes
    reason: str | None  # what the log's author expects (None: valid); the reference decides itself


def _ts(text: str) -> float:
    return parse_time(text).timestamp()


def _labels(**labels: str) -> Labels:
    return frozenset(labels.items())


def verdicts(log: list[Published], *, now: datetime) -> list[Verdict]:
    """The reference's decision on each message, `now` being the service's clock."""
    return [judge(message.value, message.feed, now=now) for message in log]


def sort_out(log: list[Published], *, now: datetime) -> Iterator[tuple[int, Published, Verdict, bool]]:
    """Each message with the reference's verdict and whether it is a duplicate (a valid event whose
    event_id was already accepted on its feed: the first in log order wins)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for index, (message, verdict) in enumerate(zip(log, verdicts(log, now=now), strict=True)):
        duplicate = verdict.event is not None and verdict.event["event_id"] in seen[message.feed]
        if verdict.event is not None:
            seen[message.feed].add(verdict.event["event_id"])
        yield index, message, verdict, duplicate


def accepted_events(log: list[Published], *, now: datetime) -> list[tuple[int, dict[str, Any]]]:
    """The events the service keeps, with their place in the log (= partition order)."""
    return [
        (i, v.event) for i, _, v, duplicate in sort_out(log, now=now) if v.event is not None and not duplicate
    ]


def expected_metrics(log: list[Published], *, now: datetime) -> Expected:
    out: Counter[tuple[str, Labels]] = Counter()
    accepted: list[tuple[int, dict[str, Any]]] = []
    for index, message, verdict, duplicate in sort_out(log, now=now):
        if verdict.event is None:
            labels = _labels(feed=message.feed, reason=str(verdict.reason), facility=verdict.facility)
            out[("medalliance_events_rejected_total", labels)] += 1
            continue
        event = verdict.event
        if duplicate:
            out[("medalliance_events_duplicate_total", _labels(feed=message.feed))] += 1
            continue
        accepted.append((index, event))
        out[("medalliance_events_total", _labels(feed=message.feed, type=event["type"]))] += 1
        out[
            ("medalliance_facility_events_total", _labels(facility=event["facility_id"], feed=message.feed))
        ] += 1
        out[("medalliance_event_delay_seconds_count", _labels(feed=message.feed))] += 1
        key = (
            "medalliance_feed_last_seen_timestamp_seconds",
            _labels(facility=event["facility_id"], feed=message.feed),
        )
        out[key] = max(out.get(key, 0.0), _ts(event["occurred_at"]))  # type: ignore[assignment]
    _registry(out)
    _beds(out, accepted)
    _visits(out, accepted, now)
    _requests(out, accepted, now)
    # The cases' and referrals' modules build on this one's decoding (accepted_events): imported
    # when used.
    from tests.support.reference_cases import case_figures
    from tests.support.reference_referrals import referral_samples

    out.update(case_figures(log, now=now).samples)
    out.update(referral_samples(accepted, now=now))
    return {key: float(value) for key, value in out.items() if value}


def _registry(out: Counter[tuple[str, Labels]]) -> None:
    """The registry metrics: every facility's names, level and township, and its ED beds."""
    for facility_id, facility in shipped_registry().items():
        names = _labels(
            facility=facility_id,
            name=facility["name"],
            name_en=facility["name_en"],
            level=facility["level"],
            township=facility["township"],
        )
        out[("medalliance_facility_info", names)] = 1
        out[("medalliance_ed_beds", _labels(facility=facility_id))] = int(facility.get("ed_beds") or 0)


def _beds(out: Counter[tuple[str, Labels]], accepted: list[tuple[int, dict[str, Any]]]) -> None:
    bed_events = [(i, e) for i, e in accepted if e["type"].startswith("bed.")]
    accepted_ids: set[str] = set()
    cancelled: set[str] = set()
    for _, event in bed_events:
        if event["type"] == "bed.cancel":
            if event["cancelled_event_id"] in accepted_ids:
                cancelled.add(event["cancelled_event_id"])
        else:
            accepted_ids.add(event["event_id"])
    for facility_id in sorted({e["facility_id"] for _, e in bed_events}):
        mine = [(i, e) for i, e in bed_events if e["facility_id"] == facility_id]
        for ward_id, beds in shipped_wards()[facility_id].items():
            censuses = [
                (_ts(e["occurred_at"]), i, e)
                for i, e in mine
                if e["type"] == "bed.census" and e["ward_id"] == ward_id
            ]
            moves = []
            for i, e in mine:
                if e["type"] in ("bed.census", "bed.cancel") or e["event_id"] in cancelled:
                    continue
                if e["ward_id"] == ward_id:
                    moves.append((_ts(e["occurred_at"]), i, +1 if e["type"] == "bed.admit" else -1))
                if e["type"] == "bed.transfer" and e["to_ward_id"] == ward_id:
                    moves.append((_ts(e["occurred_at"]), i, +1))
            staffed, occupied, since = beds, 0, float("-inf")
            if censuses:
                since, _, latest = max(censuses, key=lambda c: (c[0], c[1]))
                staffed, occupied = latest["beds_staffed"], latest["beds_occupied"]
            for _at, _, delta in sorted(m for m in moves if m[0] > since):
                occupied = max(0, occupied + delta)
            out[("medalliance_beds_staffed", _labels(facility=facility_id, ward=ward_id))] = staffed
            out[("medalliance_beds_occupied", _labels(facility=facility_id, ward=ward_id))] = occupied


def _visits(
    out: Counter[tuple[str, Labels]],
    accepted: list[tuple[int, dict[str, Any]]],
    now: datetime,
) -> None:
    visits: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for index, event in accepted:
        kind = event["type"]
        if kind == "visit.outpatient":
            _count_visit(out, event["facility_id"], "outpatient", event["occurred_at"], now)
        elif kind.startswith("ed."):
            visit = visits[(event["facility_id"], event["visit_id"])]
            at = _ts(event["occurred_at"])
            if kind == "ed.arrival":
                visit.setdefault("arrival", event["occurred_at"])
            elif kind == "ed.departure":
                visit.setdefault("disposition", event["disposition"])
            else:
                visit.setdefault("triages", []).append((at, index, event["level"]))
    now_ts = now.timestamp()
    for (facility, _), visit in visits.items():
        if "disposition" in visit:
            out[
                (
                    "medalliance_ed_departures_total",
                    _labels(facility=facility, disposition=visit["disposition"]),
                )
            ] += 1
        if "arrival" not in visit:
            continue
        arrived = _ts(visit["arrival"])
        _count_visit(out, facility, "emergency", visit["arrival"], now)
        if now_ts - 3600 <= arrived <= now_ts:
            out[("medalliance_ed_arrivals_last_hour", _labels(facility=facility))] += 1
        if "disposition" in visit:
            continue
        level = str(max(visit["triages"])[2]) if visit.get("triages") else "untriaged"
        out[("medalliance_ed_patients", _labels(facility=facility, triage_level=level))] += 1
        if now_ts - arrived > ED_LONG_STAY_HOURS * 3600:
            out[("medalliance_ed_long_stay_patients", _labels(facility=facility))] += 1


def _count_visit(out: Counter[tuple[str, Labels]], facility: str, kind: str, at: str, now: datetime) -> None:
    """One visit (an outpatient registration, an ED arrival): in the total, and today and this
    month to date when it falls on `now`'s local date / in `now`'s local month."""
    labels, moment = _labels(facility=facility, kind=kind), parse_time(at)
    out[("medalliance_visits_total", labels)] += 1
    if same_local_day(moment, now):
        out[("medalliance_visits_today", labels)] += 1
    if same_local_month(moment, now):
        out[("medalliance_visits_month", labels)] += 1


def same_local_day(moment: datetime, now: datetime) -> bool:
    """Whether `moment` falls on `now`'s date in the alliance's zone."""
    return moment.astimezone(ZONE).date() == now.astimezone(ZONE).date()


def same_local_month(moment: datetime, now: datetime) -> bool:
    """Whether `moment` falls in `now`'s month in the alliance's zone ("month to date")."""
    local, local_now = moment.astimezone(ZONE), now.astimezone(ZONE)
    return (local.year, local.month) == (local_now.year, local_now.month)


def _requests(
    out: Counter[tuple[str, Labels]],
    accepted: list[tuple[int, dict[str, Any]]],
    now: datetime,
) -> None:
    firsts: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for _, event in accepted:
        if event["type"].startswith("request."):
            stage = event["type"].split(".", 1)[1]
            firsts[event["request_id"]].setdefault(stage, event)
    now_ts = now.timestamp()
    for stages in firsts.values():
        submitted = stages.get("submitted")
        if submitted is None:
            continue
        category, sent_at = submitted["category"], _ts(submitted["occurred_at"])
        for stage in TIMED_STAGES:
            if stage in stages:
                _observe_stage(out, category, stage, max(0.0, _ts(stages[stage]["occurred_at"]) - sent_at))
        if any(end in stages for end in ("completed", "rejected", "cancelled")):
            continue
        furthest = max((s for s in stages if s in STAGE_ORDER), key=STAGE_ORDER.index)
        out[
            (
                "medalliance_requests_open",
                _labels(
                    category=category,
                    stage=furthest,
                    from_facility=submitted["facility_id"],
                    to_facility=submitted["to_facility_id"],
                ),
            )
        ] += 1
        for clock in ("accepted", "arrived"):
            if STAGE_ORDER.index(furthest) >= STAGE_ORDER.index(clock):
                continue
            standard = _standard_seconds(category, clock)
            waited = now_ts - sent_at
            name = (
                "medalliance_requests_overdue"
                if waited >= standard
                else "medalliance_requests_due_soon"
                if waited >= DUE_SOON_FRACTION * standard
                else None
            )
            if name:
                out[
                    (name, _labels(category=category, stage=clock, to_facility=submitted["to_facility_id"]))
                ] += 1


def _observe_stage(out: Counter[tuple[str, Labels]], category: str, stage: str, seconds: float) -> None:
    """One observation of the stage-time histogram: its sum, its count and each cumulative bucket."""
    name = "medalliance_request_stage_seconds"
    out[(f"{name}_count", _labels(category=category, stage=stage))] += 1
    out[(f"{name}_sum", _labels(category=category, stage=stage))] += seconds  # type: ignore[assignment]
    for bound in (*STAGE_BUCKETS, float("inf")):
        if seconds <= bound:
            le = bucket_label(bound)
            out[(f"{name}_bucket", _labels(category=category, stage=stage, le=le))] += 1
