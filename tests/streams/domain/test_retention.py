"""What leaves the state with the retention horizon (expected keys worked out from the rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

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
        referrals=shipped_policy().referrals,
    )


def _entity(last: float) -> dict[str, object]:
    return {"version": VERSION, "offset": 1, "effects": {}, "state": {"last": last}}


def test_entities_past_retention_and_marker_days_past_the_horizon_expire(registry: Registry) -> None:
    now, today = NOW.timestamp(), int(NOW.timestamp() // DAY)
    items = [
        ("e|0|f|old", _entity(now - 2 * DAY - 1)),
        ("e|0|f|kept", _entity(now - 2 * DAY + 1)),
        ("r|0|old", _entity(now - 3 * DAY)),
        ("f|0|old", _entity(now - 2 * DAY - 1)),  # a referral
        ("f|0|kept", _entity(now - 60)),
        ("b|0|f", _entity(0.0)),  # a facility's wards never expire
        (f"d|0|{today - 4}|0", {"version": VERSION, "ids": ""}),  # horizon: 2 days + 1
        (f"d|0|{today - 3}|0", {"version": VERSION, "ids": ""}),
        ("t|0|", {"version": VERSION, "offset": 1, "counters": {}}),
    ]
    assert list(expired_keys(readable(items), _rules(registry), NOW)) == [
        "e|0|f|old",
        "r|0|old",
        "f|0|old",
        f"d|0|{today - 4}|0",
    ]


@pytest.mark.parametrize(
    ("now", "kept_from"),
    [
        (NOW, "2026-11-01"),  # the 22nd: the month to date
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), "2026-11-30"),  # 00:00 on 1 December: yesterday too
        (datetime(2026, 12, 1, 15, 59, tzinfo=UTC), "2026-11-30"),  # 23:59 on 1 December
        (datetime(2026, 12, 1, 16, 0, tzinfo=UTC), "2026-12-01"),  # 00:00 on 2 December: December only
    ],
)
def test_day_series_are_kept_for_the_month_and_yesterday(
    registry: Registry, now: datetime, kept_from: str
) -> None:
    dates = ["2026-10-31", "2026-11-01", "2026-11-21", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]
    days = {f"visits_day\x1ff\x1foutpatient\x1f{d}": 1.0 for d in dates}
    days |= {f"referrals_day\x1fup\x1fa\x1fb\x1f{d}": 2.0 for d in dates}
    counters = {**days, "visits\x1ff\x1foutpatient": 7.0, "referrals\x1fup\x1fa\x1fb": 14.0}
    totals = {"version": VERSION, "offset": 1, "counters": dict(counters)}
    day_series = ("visits_day", "referrals_day")
    kept = {
        key: value
        for key, value in counters.items()
        if not key.startswith(day_series) or key.rsplit("\x1f", 1)[1] >= kept_from
    }
    assert prune_totals(totals, _rules(registry), now) == (kept != counters)  # type: ignore[arg-type]
    assert totals["counters"] == kept
    assert not prune_totals(totals, _rules(registry), now)  # type: ignore[arg-type]
