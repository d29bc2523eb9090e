"""The wall's numbers, computed from the query results of one refresh (pure functions).

    >>> county(vectors, now, iso)
    {'beds_staffed': 1240.0, 'beds_occupied': 1102.0, 'beds_free': 138.0, 'occupancy': 0.888..., ...}

`vectors` maps each name of `streams.wall.queries.WALL_QUERIES` to its instant-vector result.
Absent series mean "no data" (None on the page's side, shown as a dash), never a made-up 0,
except where EVENTS.md says absent means 0 (counts such as visits and ED patients).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from streams.wall.sources import Sample, by_label, scalar

Iso = Callable[[float | None], str | None]
Vectors = dict[str, list[Sample]]
# Levels that get a bed bar on the wall (village clinics have no wards).
BED_LEVELS: Final = ("county_hospital", "town_health_center")
TRIAGE_LEVELS: Final = ("1", "2", "3", "4", "untriaged")
VISIT_KINDS: Final = ("outpatient", "emergency")
STANDARD_STAGES: Final = ("accepted", "arrived")
DIRECTIONS: Final = ("up", "down", "lateral", "external")


def _ratio(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


def facility_names(vectors: Vectors) -> dict[str, dict[str, str]]:
    """{facility id: its registry labels} from medalliance_facility_info."""
    return {
        s["metric"]["facility"]: dict(s["metric"])
        for s in vectors["facility_info"]
        if "facility" in s["metric"]
    }


def county(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    staffed = scalar(vectors["county_staffed"])
    occupied = scalar(vectors["county_occupied"])
    return {
        "beds_staffed": staffed,
        "beds_occupied": occupied,
        # Negative when corridor beds (加床) outnumber the free ones across the county.
        "beds_free": staffed - occupied if staffed is not None and occupied is not None else None,
        "occupancy": _ratio(occupied, staffed),
        "runway_hours": scalar(vectors["bed_runway_hours"]),
    }


def _stale_by_facility(vectors: Vectors) -> dict[str, list[str]]:
    stale: dict[str, list[str]] = {}
    for sample in vectors["stale_feeds"]:
        stale.setdefault(sample["metric"].get("facility", ""), []).append(sample["metric"].get("feed", ""))
    return stale


def facilities(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    """One bar per county hospital and town health center, county hospitals first."""
    names = facility_names(vectors)
    staffed = by_label(vectors["facility_staffed"], "facility")
    occupied = by_label(vectors["facility_occupied"], "facility")
    levels = by_label(vectors["escalation_facility"], "facility")
    stale = _stale_by_facility(vectors)
    last_beds = {
        s["metric"].get("facility", ""): float(s["value"][1])
        for s in vectors["feed_last_seen"]
        if s["metric"].get("feed") == "beds"
    }
    items = []
    for facility_id, labels in names.items():
        if labels.get("level") not in BED_LEVELS:
            continue
        items.append(
            {
                "id": facility_id,
                "name": labels.get("name", facility_id),
                "name_en": labels.get("name_en", facility_id),
                "level": labels["level"],
                "beds_staffed": staffed.get(facility_id),
                "beds_occupied": occupied.get(facility_id),
                "occupancy": _ratio(occupied.get(facility_id), staffed.get(facility_id)),
                "escalation_level": levels.get(facility_id),
                "stale_feeds": sorted(stale.get(facility_id, [])),
                "beds_stale": "beds" in stale.get(facility_id, []),
                "beds_last_seen_at": iso(last_beds.get(facility_id)),
            }
        )
    items.sort(key=lambda item: (BED_LEVELS.index(item["level"]), item["id"]))
    return {"items": items}


def visits_today(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    kinds = by_label(vectors["visits_today"], "kind")
    counts = {kind: kinds.get(kind, 0.0) for kind in VISIT_KINDS}
    return {**counts, "total": sum(counts.values())}


def emergency(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    levels = by_label(vectors["ed_patients"], "triage_level")
    by_triage = {level: levels.get(level, 0.0) for level in TRIAGE_LEVELS}
    return {
        "by_triage": by_triage,
        "total": sum(by_triage.values()),
        "long_stay": scalar(vectors["ed_long_stay"]) or 0.0,
        "ed_beds": scalar(vectors["ed_beds"]),
    }


def request_clocks(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    overdue = by_label(vectors["requests_overdue"], "stage")
    due_soon = by_label(vectors["requests_due_soon"], "stage")
    return {
        "overdue": {stage: overdue.get(stage, 0.0) for stage in STANDARD_STAGES},
        "due_soon": {stage: due_soon.get(stage, 0.0) for stage in STANDARD_STAGES},
    }


def escalation(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    names = facility_names(vectors)
    per_facility = [
        {
            "id": facility_id,
            "name": names.get(facility_id, {}).get("name", facility_id),
            "name_en": names.get(facility_id, {}).get("name_en", facility_id),
            "level": level,
        }
        for facility_id, level in sorted(by_label(vectors["escalation_facility"], "facility").items())
    ]
    return {"alliance": scalar(vectors["escalation_alliance"]), "facilities": per_facility}


def stale_feeds(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    """Feeds of open facilities silent for too long, the longest silence first; a facility never
    heard from (feed "all", age +Inf in the rule) has no age and no last time, and comes first."""
    names = facility_names(vectors)
    items = []
    for sample in vectors["stale_feeds"]:
        facility_id = sample["metric"].get("facility", "")
        age = float(sample["value"][1])
        labels = names.get(facility_id, {})
        heard = math.isfinite(age)
        items.append(
            {
                "facility": facility_id,
                "name": labels.get("name", facility_id),
                "name_en": labels.get("name_en", facility_id),
                "level": labels.get("level"),
                "feed": sample["metric"].get("feed", ""),
                "age_seconds": age if heard else None,
                "last_seen_at": iso(now - age) if heard else None,
            }
        )
    items.sort(key=lambda item: (-(item["age_seconds"] or math.inf), item["facility"], item["feed"]))
    return {"items": items}


def centers(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    """Per center and standard with completed intervals in the window: the share within standard,
    the standard's target (None: tracked without one) and the breaches, worst share first."""
    names = facility_names(vectors)
    targets = {
        (s["metric"].get("category", ""), s["metric"].get("interval", "")): float(s["value"][1])
        for s in vectors["case_target"]
    }
    breaches = {_center_key(s): float(s["value"][1]) for s in vectors["case_breaches"]}
    items = []
    for sample in vectors["case_compliance"]:
        category, interval, facility = _center_key(sample)
        items.append(
            {
                "category": category,
                "interval": interval,
                "facility": facility,
                "name": names.get(facility, {}).get("name", facility),
                "compliance": float(sample["value"][1]),
                "target": targets.get((category, interval)),
                "breaches": breaches.get((category, interval, facility), 0.0),
            }
        )
    items.sort(key=lambda item: (item["compliance"], item["facility"], item["interval"]))
    return {"items": items}


def _center_key(sample: Sample) -> tuple[str, str, str]:
    labels = sample["metric"]
    return labels.get("category", ""), labels.get("interval", ""), labels.get("facility", "")


def _facility_ward(sample: Sample) -> tuple[str, str]:
    return sample["metric"].get("facility", ""), sample["metric"].get("ward", "")


def referrals(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    """The referral flow by direction today and this month (absent: 0), and the pending referrals per
    receiving ward beside its free beds, expired ones first. A ward not named, or a destination outside
    the alliance, has no free-bed figure (None, not 0)."""
    names = facility_names(vectors)
    today = by_label(vectors["referrals_today"], "direction")
    month = by_label(vectors["referrals_month"], "direction")
    free = {_facility_ward(s): float(s["value"][1]) for s in vectors["ward_free_beds"]}
    expired = {_facility_ward(s): float(s["value"][1]) for s in vectors["referrals_expired"]}
    pending: list[dict[str, Any]] = []
    for sample in vectors["referrals_pending"]:
        facility, ward = _facility_ward(sample)
        pending.append(
            {
                "facility": facility,
                "name": names.get(facility, {}).get("name", facility),
                "ward": ward,
                "pending": float(sample["value"][1]),
                "expired": expired.get((facility, ward), 0.0),
                "free_beds": free.get((facility, ward)),
            }
        )
    pending.sort(key=lambda item: (-item["expired"], -item["pending"], item["facility"], item["ward"]))
    return {
        "today": {direction: today.get(direction, 0.0) for direction in DIRECTIONS},
        "month": {direction: month.get(direction, 0.0) for direction in DIRECTIONS},
        "pending_total": sum(item["pending"] for item in pending),
        "expired_total": sum(expired.values()),
        "pending": pending,
    }


def primary_care(vectors: Vectors, now: float, iso: Iso) -> dict[str, Any]:
    """基层诊疗量占比 today and this month; None (no visits yet), never 0."""
    return {"today": scalar(vectors["primary_share_today"]), "month": scalar(vectors["primary_share_month"])}
