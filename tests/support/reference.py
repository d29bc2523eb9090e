"""An independent reference: every contract metric recomputed from a published log in plain Python.

    >>> log = [Published(feed="beds", key=b"yx-ch-people", value=b"{...}", reason=None), ...]
    >>> expected = expected_metrics(log, now=now)
    >>> expected[("medalliance_beds_occupied", frozenset({("facility", "..."), ("ward", "icu")}))]

Written from EVENTS.md, not from the code under test: it replays the whole log in publish order
(= partition order, since all events of a key share a partition and one producer publishes in
order) and computes each figure the direct way (sort, filter, fold). It does not decode: each
published message says whether it is valid and, if not, the reason it must be rejected with.

It imports nothing of the code under test: the facilities and ward sizes come from the shipped
registry YAML read here, and the contract's defaults (time zone, long stay, due soon, the time
standards) are typed here from docs/contract.md, so a wrong default in the product cannot pass
on both sides.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

Labels = frozenset[tuple[str, str]]
Expected = dict[tuple[str, Labels], float]
STAGE_ORDER = ["submitted", "accepted", "dispatched", "arrived", "completed"]
REGISTRY_YAML = Path(__file__).resolve().parents[2] / "schemas" / "yangxi.yaml"
# The contract's defaults (docs/contract.md): the alliance's zone, a long ED stay, the due-soon share
# and the accept / arrive standards per category, in minutes.
ZONE = ZoneInfo("Asia/Shanghai")
ED_LONG_STAY_HOURS = 4.0
DUE_SOON_FRACTION = 0.8
ACCEPT_MINUTES = dict.fromkeys(
    ("chest_pain", "stroke", "trauma", "critical_maternal", "critical_neonatal"), 10.0
)
ARRIVE_MINUTES = {
    "chest_pain": 60.0,
    "stroke": 60.0,
    "trauma": 60.0,
    "critical_maternal": 90.0,
    "critical_neonatal": 90.0,
}


@cache
def shipped_wards() -> dict[str, dict[str, int]]:
    """facility id -> {ward id: staffed beds}, read from the registry YAML itself."""
    document = yaml.safe_load(REGISTRY_YAML.read_text(encoding="utf-8"))
    return {f["id"]: {w["id"]: int(w["beds"]) for w in f.get("wards") or []} for f in document["facilities"]}


def _standard_seconds(category: str, clock: str) -> float:
    return (ACCEPT_MINUTES if clock == "accepted" else ARRIVE_MINUTES)[category] * 60.0


@dataclass(frozen=True)
class Published:
    feed: str
    key: bytes | None
    value: bytes
    reason: str | None  # None: a valid event


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _labels(**labels: str) -> Labels:
    return frozenset(labels.items())


def expected_metrics(log: list[Published], *, now: datetime) -> Expected:
    out: Counter[tuple[str, Labels]] = Counter()
    seen: dict[str, set[str]] = defaultdict(set)
    accepted: list[tuple[int, dict[str, Any]]] = []
    for index, message in enumerate(log):
        if message.reason is not None:
            out[
                (
                    "medalliance_events_rejected_total",
                    _labels(
                        feed=message.feed,
                        reason=message.reason,
                        facility=_rejected_facility(message),
                    ),
                )
            ] += 1
            continue
        event = json.loads(message.value)
        if event["event_id"] in seen[message.feed]:
            out[("medalliance_events_duplicate_total", _labels(feed=message.feed))] += 1
            continue
        seen[message.feed].add(event["event_id"])
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
    _beds(out, accepted)
    _visits(out, accepted, now)
    _requests(out, accepted, now)
    return {key: float(value) for key, value in out.items() if value}


def _rejected_facility(message: Published) -> str:
    if message.reason in ("too_large", "invalid_json"):
        return "unknown"
    try:
        facility = json.loads(message.value).get("facility_id")
    except (ValueError, AttributeError):
        return "unknown"
    if message.reason == "unknown_facility" and facility in shipped_wards():
        return facility  # its to_facility_id was the unknown one
    return facility if isinstance(facility, str) and facility in shipped_wards() else "unknown"


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
    zone = ZONE
    today = now.astimezone(zone).date()
    visits: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for index, event in accepted:
        kind = event["type"]
        if kind == "visit.outpatient":
            out[("medalliance_visits_total", _labels(facility=event["facility_id"], kind="outpatient"))] += 1
            if datetime.fromisoformat(event["occurred_at"]).astimezone(zone).date() == today:
                out[
                    ("medalliance_visits_today", _labels(facility=event["facility_id"], kind="outpatient"))
                ] += 1
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
        out[("medalliance_visits_total", _labels(facility=facility, kind="emergency"))] += 1
        if datetime.fromisoformat(visit["arrival"]).astimezone(zone).date() == today:
            out[("medalliance_visits_today", _labels(facility=facility, kind="emergency"))] += 1
        if now_ts - 3600 <= arrived <= now_ts:
            out[("medalliance_ed_arrivals_last_hour", _labels(facility=facility))] += 1
        if "disposition" in visit:
            continue
        level = str(max(visit["triages"])[2]) if visit.get("triages") else "untriaged"
        out[("medalliance_ed_patients", _labels(facility=facility, triage_level=level))] += 1
        if now_ts - arrived > ED_LONG_STAY_HOURS * 3600:
            out[("medalliance_ed_long_stay_patients", _labels(facility=facility))] += 1


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
        for stage in ("accepted", "dispatched", "arrived", "completed"):
            if stage in stages:
                seconds = max(0.0, _ts(stages[stage]["occurred_at"]) - sent_at)
                out[("medalliance_request_stage_seconds_count", _labels(category=category, stage=stage))] += 1
                out[("medalliance_request_stage_seconds_sum", _labels(category=category, stage=stage))] += (
                    seconds
                )
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
