"""The wall's numbers from Prometheus vectors: absent series are "no data", never an invented 0."""

from __future__ import annotations

from typing import Any

from streams.wall import facts
from streams.wall.queries import WALL_QUERIES


def sample(value: float, **labels: str) -> dict[str, Any]:
    return {"metric": labels, "value": [1_700_000_000.0, str(value)]}


def vectors(**given: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    empty: dict[str, list[dict[str, Any]]] = {name: [] for name in WALL_QUERIES}
    return {**empty, **given}


def iso(ts: float | None) -> str | None:
    return None if ts is None else f"t{ts:.0f}"


def test_county_without_any_bed_series_is_no_data() -> None:
    county = facts.county(vectors(), 0.0, iso)
    assert county == dict.fromkeys(
        ("beds_staffed", "beds_occupied", "beds_free", "occupancy", "runway_hours")
    )


def test_county_with_corridor_beds_has_negative_free_beds() -> None:
    county = facts.county(vectors(county_staffed=[sample(100)], county_occupied=[sample(104)]), 0.0, iso)
    assert (county["beds_free"], county["occupancy"]) == (-4.0, 1.04)


def test_bars_only_for_hospitals_and_health_centers_county_hospitals_first() -> None:
    info = [
        sample(1, facility="b-thc", name="B", name_en="B", level="town_health_center"),
        sample(1, facility="z-ch", name="Z", name_en="Z", level="county_hospital"),
        sample(1, facility="a-vc", name="A", name_en="A", level="village_clinic"),
    ]
    given = vectors(
        facility_info=info,
        facility_staffed=[sample(40, facility="b-thc"), sample(200, facility="z-ch")],
        facility_occupied=[sample(30, facility="b-thc")],
        stale_feeds=[sample(400, facility="b-thc", feed="beds")],
        feed_last_seen=[sample(1000, facility="b-thc", feed="beds")],
        escalation_facility=[sample(3, facility="z-ch")],
    )
    items = facts.facilities(given, 1400.0, iso)["items"]
    assert [(i["id"], i["occupancy"], i["escalation_level"], i["beds_stale"]) for i in items] == [
        ("z-ch", None, 3.0, False),  # staffed but no occupied series: no ratio rather than 0 %
        ("b-thc", 0.75, None, True),
    ]
    assert items[1]["beds_last_seen_at"] == "t1000"


def test_counts_default_to_zero_where_the_contract_says_absent_means_zero() -> None:
    given = vectors(visits_today=[sample(12, kind="outpatient")], ed_patients=[sample(2, triage_level="1")])
    assert facts.visits_today(given, 0.0, iso) == {"outpatient": 12.0, "emergency": 0.0, "total": 12.0}
    ed = facts.emergency(given, 0.0, iso)
    assert (
        ed["by_triage"] == {"1": 2.0, "2": 0.0, "3": 0.0, "4": 0.0, "untriaged": 0.0} and ed["total"] == 2.0
    )


def test_stale_feeds_longest_silence_first_with_the_time_last_heard() -> None:
    given = vectors(
        facility_info=[sample(1, facility="f1", name="一", name_en="One", level="county_hospital")],
        stale_feeds=[sample(320, facility="f1", feed="visits"), sample(900, facility="f1", feed="beds")],
    )
    items = facts.stale_feeds(given, 2000.0, iso)["items"]
    assert [(i["feed"], i["last_seen_at"], i["name"]) for i in items] == [
        ("beds", "t1100", "一"),
        ("visits", "t1680", "一"),
    ]


def test_referral_flow_counts_absent_directions_as_zero_and_pending_wards_expired_first() -> None:
    given = vectors(
        facility_info=[sample(1, facility="ch", name="县医院", name_en="CH", level="county_hospital")],
        referrals_today=[sample(3, direction="up"), sample(1, direction="external")],
        referrals_month=[sample(40, direction="up"), sample(15, direction="down")],
        referrals_pending=[
            sample(2, facility="ch", ward="cardiology"),
            sample(1, facility="ch", ward="icu"),
            sample(4, facility="ch", ward=""),  # no ward named yet: no free-bed figure
        ],
        referrals_expired=[sample(1, facility="ch", ward="icu")],
        ward_free_beds=[sample(0, facility="ch", ward="cardiology"), sample(5, facility="ch", ward="icu")],
    )
    flow = facts.referrals(given, 0.0, iso)
    assert flow["today"] == {"up": 3.0, "down": 0.0, "lateral": 0.0, "external": 1.0}
    assert flow["month"] == {"up": 40.0, "down": 15.0, "lateral": 0.0, "external": 0.0}
    assert (flow["pending_total"], flow["expired_total"]) == (7.0, 1.0)
    assert [(p["ward"], p["pending"], p["expired"], p["free_beds"], p["name"]) for p in flow["pending"]] == [
        ("icu", 1.0, 1.0, 5.0, "县医院"),  # the expired one first, whatever its size
        ("", 4.0, 0.0, None, "县医院"),
        ("cardiology", 2.0, 0.0, 0.0, "县医院"),  # a full ward is 0 free beds, not "no data"
    ]


def test_primary_care_share_without_visits_is_no_data_not_zero() -> None:
    assert facts.primary_care(vectors(), 0.0, iso) == {"today": None, "month": None}
    given = vectors(primary_share_today=[sample(0.62)], primary_share_month=[sample(0.66)])
    assert facts.primary_care(given, 0.0, iso) == {"today": 0.62, "month": 0.66}


def test_the_documented_queries_are_the_queries_the_wall_asks() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "wall.md").read_text(encoding="utf-8")
    for name, expr in WALL_QUERIES.items():
        assert f"| `{name}` | `{expr}` |" in doc, f"docs/wall.md does not list {name}: {expr}"
