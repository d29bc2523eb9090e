"""What the state says when read: this month's and today's counts at local midnight and at a month
boundary, pending and expired referrals, and the open referrals of the API (values by hand)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Final

import pytest

from schemas.events import EVENT_ADAPTER
from schemas.metrics import (
    REFERRALS_EXPIRED,
    REFERRALS_MONTH,
    REFERRALS_PENDING,
    REFERRALS_TODAY,
    VISITS_MONTH,
    VISITS_TODAY,
)
from schemas.policy import Referrals
from schemas.registry import Registry
from streams.domain.readout import Readout, open_referrals, partition_samples
from streams.domain.referrals import apply_referral_event, new_referral
from streams.domain.state import VERSION
from streams.metrics.page import readout_from
from streams.settings import load_settings
from streams.web import open_requests_payload

LIMITS: Final = Referrals.model_validate(
    {"pending_limit_minutes": {"up": 120, "lateral": 240, "down": 1440, "external": 1440}}
)
T0: Final = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
HOSPITAL, TOWN = "yx-ch-people", "yx-thc-zhigong"


def _readout(registry: Registry, now: datetime) -> Readout:
    return dataclasses.replace(readout_from(load_settings(), registry, now), referrals=LIMITS)


def _totals(counters: dict[str, float]) -> tuple[str, dict[str, Any]]:
    return "t|0|3", {"version": VERSION, "offset": 1, "counters": counters}


def _gauges(
    items: list[tuple[str, Any]], readout: Readout, *specs: Any
) -> dict[tuple[str, tuple[str, ...]], float]:
    wanted = {spec.name for spec in specs}
    samples = partition_samples(items, readout).samples
    return {(spec.name, labels): value for spec, labels, value in samples if spec.name in wanted}


DAYS: Final = {
    "visits_day\x1ff\x1foutpatient\x1f2026-10-31": 7.0,  # last month
    "visits_day\x1ff\x1foutpatient\x1f2026-11-15": 4.0,
    "visits_day\x1ff\x1foutpatient\x1f2026-11-30": 2.0,
    "visits_day\x1ff\x1foutpatient\x1f2026-12-01": 3.0,
    "referrals_day\x1fup\x1fa\x1fb\x1f2026-11-02": 5.0,
    "referrals_day\x1fup\x1fa\x1fb\x1f2026-11-30": 1.0,
    "referrals_day\x1fup\x1fa\x1fb\x1f2026-12-01": 2.0,
}
UP: Final = ("up", "a", "b")


@pytest.mark.parametrize(
    ("now", "today", "month"),
    [
        # 23:59:59 on 30 November, local: a day ahead of the clock's own date is not counted yet.
        (datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC), (2.0, 1.0), (4.0 + 2.0, 5.0 + 1.0)),
        # Local midnight starts both December and its first day (the UTC date is still 30 November).
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), (3.0, 2.0), (3.0, 2.0)),
        (datetime(2026, 11, 15, 0, 0, tzinfo=UTC), (4.0, 0.0), (4.0, 5.0)),  # 08:00 on the 15th
    ],
)
def test_today_and_month_to_date_follow_the_local_date(
    registry: Registry, now: datetime, today: tuple[float, float], month: tuple[float, float]
) -> None:
    gauges = _gauges([_totals(dict(DAYS))], _readout(registry, now),
                     VISITS_TODAY, VISITS_MONTH, REFERRALS_TODAY, REFERRALS_MONTH)  # fmt: skip
    expected = {
        (VISITS_TODAY.name, ("f", "outpatient")): today[0],
        (REFERRALS_TODAY.name, UP): today[1],
        (VISITS_MONTH.name, ("f", "outpatient")): month[0],
        (REFERRALS_MONTH.name, UP): month[1],
    }
    assert gauges == {key: value for key, value in expected.items() if value}


def _referral(registry: Registry, *events: dict[str, Any]) -> dict[str, Any]:
    """A stored referral value from events given as (type suffix, minutes after T0, facility, fields)."""
    state = new_referral()
    for seq, fields in enumerate(events):
        body = {"schema_version": 1, "event_id": f"e{seq}", "referral_id": "secret-ref-7", **fields}
        body["type"] = f"referral.{body['type']}"
        body["occurred_at"] = (T0 + timedelta(minutes=body.pop("minutes"))).isoformat()
        event = EVENT_ADAPTER.validate_python(body)
        apply_referral_event(state, event, seq=seq, registry=registry, limits=LIMITS)  # type: ignore[arg-type]
    return {"version": VERSION, "offset": 9, "effects": {}, "state": state}


def _request(minutes: float, sender: str = TOWN, **fields: Any) -> dict[str, Any]:
    destination = {} if "to_external_code" in fields else {"to_facility_id": HOSPITAL}
    return {"type": "requested", "minutes": minutes, "facility_id": sender, "reason": "equipment",
            "department": "影像科", **destination, **fields}  # fmt: skip


def _board_items(registry: Registry) -> list[tuple[str, Any]]:
    accept = {"type": "accepted", "minutes": -50, "facility_id": HOSPITAL, "target_ward_id": "cardiology"}
    reject = {"type": "rejected", "minutes": 5, "facility_id": HOSPITAL, "reason": "full"}
    outside = _request(-1000, to_external_code="SZ.9", to_external_scope="in_county")
    return [
        ("f|0|icu", _referral(registry, _request(0, target_ward_id="icu"))),  # up: 2 h limit
        ("f|0|none", _referral(registry, _request(60))),
        ("f|0|accepted", _referral(registry, _request(-200), accept)),  # after 150 min: late, open
        ("f|0|outside", _referral(registry, outside)),
        ("f|0|rejected", _referral(registry, _request(0), reject)),
        ("f|0|unrequested", _referral(registry, {"type": "accepted", "minutes": 5, "facility_id": HOSPITAL})),
    ]


def test_pending_and_expired_by_receiver_and_target_ward(registry: Registry) -> None:
    now = T0 + timedelta(hours=2)  # exactly the up limit after the icu referral's request
    gauges = _gauges(_board_items(registry), _readout(registry, now), REFERRALS_PENDING, REFERRALS_EXPIRED)
    assert gauges == {
        (REFERRALS_PENDING.name, (HOSPITAL, "icu")): 1.0,
        (REFERRALS_PENDING.name, (HOSPITAL, "")): 1.0,
        (REFERRALS_PENDING.name, ("external_in_county", "")): 1.0,
        (REFERRALS_EXPIRED.name, (HOSPITAL, "icu")): 1.0,
        # the outside referral: 1,120 min of its 1,440; the other: 60 min of 120
    }
    earlier = _gauges(
        _board_items(registry), _readout(registry, now - timedelta(seconds=1)), REFERRALS_EXPIRED
    )
    assert earlier == {}


def test_the_open_referrals_of_the_board_say_where_each_stands_and_hold_no_referral_id(
    registry: Registry,
) -> None:
    now = T0 + timedelta(hours=2)
    board = open_referrals(_board_items(registry), _readout(registry, now), partition=0)
    assert "secret-ref-7" not in json.dumps(board)
    assert all(entry["display"].startswith("No. ") for entry in board)
    by_ward = [(e["to_facility"], e["target_ward"], e["stage"]) for e in board]
    assert by_ward == [  # oldest request first; the ended and the unrequested are not open
        ("external_in_county", None, "requested"),
        (HOSPITAL, "cardiology", "accepted"),
        (HOSPITAL, "icu", "requested"),
        (HOSPITAL, None, "requested"),
    ]
    outside, accepted, icu, _ = board
    assert {k: icu[k] for k in ("direction", "reason", "from_facility", "requested_at", "stage_times")} == {
        "direction": "up",
        "reason": "equipment",
        "from_facility": TOWN,
        "requested_at": "2026-11-22T02:00:00Z",
        "stage_times": {},
    }
    assert (icu["elapsed_seconds"], icu["limit_seconds"], icu["pending"], icu["expired"], icu["late"]) == (
        7200.0, 7200.0, True, True, False,
    )  # fmt: skip
    assert (accepted["pending"], accepted["expired"], accepted["late"]) == (False, False, True)
    assert accepted["stage_times"] == {"accepted": "2026-11-22T01:10:00Z"}
    assert (outside["direction"], outside["limit_seconds"], outside["expired"]) == (
        "external",
        86400.0,
        False,
    )
    assert outside["elapsed_seconds"] == 1120 * 60.0


def test_the_workers_open_list_carries_the_referrals(registry: Registry) -> None:
    readout = _readout(registry, T0 + timedelta(hours=2))
    collector = SimpleNamespace(
        readout=lambda now: readout,
        owned_partitions=lambda feed: [0],
        partition_items=lambda feed, owned: {0: _board_items(registry)},
    )
    payload = open_requests_payload(collector)  # type: ignore[arg-type]
    assert len(payload["referrals"]) == 4 and payload["requests"] == [] and payload["cases"] == []
    assert "secret-ref-7" not in json.dumps(payload)
