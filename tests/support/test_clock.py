"""The tests' clock helpers: today's referrals at any hour, checked at both ends of a month."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from schemas.registry import Registry
from tests.support.clock import local_midnight, referrals_today
from tests.support.reference import Published, expected_metrics
from tests.support.reference_decode import judge

# A minute into 1 December in the alliance (today and this month both began a minute ago), and the
# last seconds of 30 November (a whole day and month behind).
MOMENTS = [
    datetime.fromisoformat(t).astimezone(UTC)
    for t in ("2026-12-01T00:01:00+08:00", "2026-11-30T23:59:50+08:00")
]
MCH, CHENGCUN, RUDONG = "yx-ch-mch", "yx-thc-chengcun", "yx-thc-rudong"


def _series(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (f"medalliance_{name}", frozenset(labels.items()))


@pytest.mark.parametrize("now", MOMENTS, ids=["month-start", "month-end"])
def test_referrals_today_one_of_each_direction_since_midnight(registry: Registry, now: datetime) -> None:
    events = referrals_today(registry, now=now)
    moments = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert moments == sorted(moments) and local_midnight(now) < moments[0] and moments[-1] < now
    log = [Published("requests", e["referral_id"].encode(), orjson.dumps(e), None) for e in events]
    assert [judge(m.value, "requests", now=now).reason for m in log] == [None] * len(log)
    expected = expected_metrics(log, now=now)
    # The first county hospital and the first two town health centers by id, the hospital's first ward.
    flows = [
        ("up", CHENGCUN, MCH), ("down", MCH, CHENGCUN), ("lateral", CHENGCUN, RUDONG),
        ("external", MCH, "external_out_of_county"), ("external", MCH, "external_in_county"),
    ]  # fmt: skip
    for name in ("referrals_today", "referrals_month", "referrals_total"):
        found = {labels: v for (n, labels), v in expected.items() if n == f"medalliance_{name}"}
        assert found == {
            frozenset({"direction": d, "from_facility": f, "to_facility": t}.items()): 1 for d, f, t in flows
        }
    pending = {labels: v for (n, labels), v in expected.items() if n == "medalliance_referrals_pending"}
    assert pending == {  # up and lateral were accepted a second after their request
        _series("referrals_pending", facility=CHENGCUN, ward="")[1]: 1,
        _series("referrals_pending", facility="external_out_of_county", ward="")[1]: 1,
        _series("referrals_pending", facility="external_in_county", ward="")[1]: 1,
    }
    for direction in ("up", "lateral"):
        assert expected[_series("referral_stage_seconds_sum", direction=direction, stage="accepted")] == 1
    up = next(e for e in events if e["type"] == "referral.requested" and e.get("to_facility_id") == MCH)
    assert up["target_ward_id"] == "obstetrics"


def test_referrals_today_needs_room_after_midnight(registry: Registry) -> None:
    with pytest.raises(AssertionError, match="no room"):
        referrals_today(registry, now=datetime.fromisoformat("2026-12-01T00:00:04+08:00"))
