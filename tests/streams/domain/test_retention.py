"""What leaves the state with the retention horizon (expected keys worked out from the rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.policy import shipped_policy
from schemas.registry import Registry
from streams.domain.pipeline import Rules
from streams.domain.retention import expired_keys, prune_totals
from streams.domain.state import VERSION, readable

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai: yesterday is 2026-11-21
DAY = 86_400


def _rules(registry: Registry) -> Rules:
    return Rules(
        feed="visits",
        registry=registry,
        retention=timedelta(days=2),
        zone=ZoneInfo("Asia/Shanghai"),
        centers=shipped_policy().centers,
    )


def _entity(last: float) -> dict[str, object]:
    return {"version": VERSION, "offset": 1, "effects": {}, "state": {"last": last}}


def test_entities_past_retention_and_marker_days_past_the_horizon_expire(registry: Registry) -> None:
    now, today = NOW.timestamp(), int(NOW.timestamp() // DAY)
    items = [
        ("e|0|f|old", _entity(now - 2 * DAY - 1)),
        ("e|0|f|kept", _entity(now - 2 * DAY + 1)),
        ("r|0|old", _entity(now - 3 * DAY)),
        ("b|0|f", _entity(0.0)),  # a facility's wards never expire
        (f"d|0|{today - 4}|0", {"version": VERSION, "ids": ""}),  # horizon: 2 days + 1
        (f"d|0|{today - 3}|0", {"version": VERSION, "ids": ""}),
        ("t|0|", {"version": VERSION, "offset": 1, "counters": {}}),
    ]
    assert list(expired_keys(readable(items), _rules(registry), NOW)) == [
        "e|0|f|old",
        "r|0|old",
        f"d|0|{today - 4}|0",
    ]


def test_visit_days_before_yesterday_are_pruned(registry: Registry) -> None:
    counters = {
        "visits_day\x1ff\x1foutpatient\x1f2026-11-20": 3.0,
        "visits_day\x1ff\x1foutpatient\x1f2026-11-21": 2.0,
        "visits_day\x1ff\x1femergency\x1f2026-11-22": 1.0,
        "visits\x1ff\x1foutpatient": 6.0,
    }
    totals = {"version": VERSION, "offset": 1, "counters": dict(counters)}
    assert prune_totals(totals, _rules(registry), NOW)  # type: ignore[arg-type]
    del counters["visits_day\x1ff\x1foutpatient\x1f2026-11-20"]
    assert totals["counters"] == counters
    assert not prune_totals(totals, _rules(registry), NOW)  # type: ignore[arg-type]
