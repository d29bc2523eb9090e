"""Two-way referrals: direction, order, duplicates, late accepts, expiry, pending, the target ward.

The pending limits are typed here (up 2 h, lateral 4 h, down and external 24 h), not read from the
shipped policy, so each expected value follows from this file and the contract alone. Facilities
are the shipped registry's: yx-ch-people a county hospital, yx-thc-* town health centers,
yx-vc-zhigong-01 a village clinic.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

from schemas.events import EVENT_ADAPTER, ReferralEvent
from schemas.policy import Referrals
from schemas.registry import Registry
from streams.domain.referrals import (
    ReferralChanges,
    accepted_late,
    apply_referral_event,
    furthest_stage,
    is_expired,
    is_open,
    is_pending,
    new_referral,
    target_ward,
)

T0: Final = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
LIMITS: Final = Referrals.model_validate(
    {"pending_limit_minutes": {"up": 120, "lateral": 240, "down": 1440, "external": 1440}}
)
HOSPITAL: Final = "yx-ch-people"
TOWN: Final = "yx-thc-zhigong"
VILLAGE: Final = "yx-vc-zhigong-01"
_ids = itertools.count()


def event(kind: str, minutes: float, facility: str = HOSPITAL, **fields: Any) -> ReferralEvent:
    """A referral.<kind> event `minutes` after T0, of referral "ref-1" unless told."""
    body = {
        "event_id": f"ev-{next(_ids)}",
        "type": f"referral.{kind}",
        "schema_version": 1,
        "facility_id": facility,
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "referral_id": "ref-1",
        **fields,
    }
    if kind in ("rejected", "cancelled"):
        body.setdefault("reason", "no bed")
    return EVENT_ADAPTER.validate_python(body)  # type: ignore[return-value]


def requested(minutes: float = 0.0, sender: str = TOWN, **fields: Any) -> ReferralEvent:
    named = "to_external_code" in fields or "to_facility_id" in fields
    destination = {} if named else {"to_facility_id": HOSPITAL}
    return event(
        "requested", minutes, sender, reason="beyond_capability", department="心内科", **destination, **fields
    )


def apply_all(
    events: list[ReferralEvent], registry: Registry
) -> tuple[dict[str, Any], list[ReferralChanges]]:
    referral = new_referral()
    changes = [
        apply_referral_event(referral, e, seq=seq, registry=registry, limits=LIMITS)
        for seq, e in enumerate(events)
    ]
    return referral, changes


@pytest.mark.parametrize(
    ("sender", "destination", "direction", "receiver"),
    [
        (TOWN, {"to_facility_id": HOSPITAL}, "up", HOSPITAL),
        (VILLAGE, {"to_facility_id": TOWN}, "up", TOWN),
        (HOSPITAL, {"to_facility_id": VILLAGE}, "down", VILLAGE),
        (HOSPITAL, {"to_facility_id": TOWN}, "down", TOWN),
        (TOWN, {"to_facility_id": "yx-thc-chengcun"}, "lateral", "yx-thc-chengcun"),
        (HOSPITAL, {"to_facility_id": "yx-ch-tcm"}, "lateral", "yx-ch-tcm"),
        (HOSPITAL, {"to_external_code": "GD-SZ-001", "to_external_scope": "out_of_county"},
         "external", "external_out_of_county"),
        (VILLAGE, {"to_external_code": "private.7", "to_external_scope": "in_county"},
         "external", "external_in_county"),
    ],
)  # fmt: skip
def test_direction_from_the_registry_levels_and_an_outside_destination_by_its_scope(
    registry: Registry, sender: str, destination: dict[str, str], direction: str, receiver: str
) -> None:
    body = {"reason": "recovery", "department": "康复科", **destination}
    referral, (changes,) = apply_all([event("requested", 0, sender, **body)], registry)
    assert changes == ReferralChanges(counted=True)
    assert (referral["direction"], referral["from_facility"], referral["to_facility"]) == (
        direction,
        sender,
        receiver,
    )
    assert "GD-SZ-001" not in str(referral) and "private.7" not in str(referral)  # a code is no label


ORDERED: Final = [("requested", 0), ("accepted", 30), ("arrived", 90), ("closed", 600)]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_every_order_counts_once_with_the_same_times_and_ending(
    registry: Registry, order: tuple[int, ...]
) -> None:
    events = []
    for index in order:
        kind, minutes = ORDERED[index]
        events.append(requested(minutes) if kind == "requested" else event(kind, minutes))
    referral, changes = apply_all(events, registry)
    assert sum(c.counted for c in changes) == 1
    assert sorted(s for c in changes for s in c.stage_seconds) == [("accepted", 1800.0), ("arrived", 5400.0)]
    assert [e for c in changes for e in c.endings] == ["closed"]
    assert not any(c.late for c in changes)  # 30 min < the 2 h up limit
    assert furthest_stage(referral) == "closed" and not is_open(referral) and not is_pending(referral)


def test_the_first_event_of_a_stage_fixes_its_time_and_the_first_request_the_referral(
    registry: Registry,
) -> None:
    events = [
        event("accepted", 20),
        requested(0),
        event("accepted", 5),  # a second acceptance (another event_id): nothing new
        requested(-30, sender=VILLAGE, target_ward_id="icu"),  # a second request changes nothing
        event("rejected", 40),
        event("rejected", 50),
    ]
    referral, changes = apply_all(events, registry)
    assert [c.counted for c in changes] == [False, True, False, False, False, False]
    assert [c.stage_seconds for c in changes] == [[], [("accepted", 1200.0)], [], [], [], []]
    assert [c.endings for c in changes] == [[], [], [], [], ["rejected"], []]
    assert referral["from_facility"] == TOWN and referral["ward"] is None
    assert referral["stages"]["accepted"][0] == (T0 + timedelta(minutes=20)).timestamp()


def test_an_ending_counts_once_the_request_is_known_and_a_negative_time_as_zero(registry: Registry) -> None:
    _, changes = apply_all([event("cancelled", 5, TOWN), event("arrived", 1), requested(10)], registry)
    assert [c.endings for c in changes] == [[], [], ["cancelled"]]
    assert changes[2].stage_seconds == [("arrived", 0.0)]  # arrived 9 min before the request


@pytest.mark.parametrize(
    ("accepted_minutes", "late"),
    [(119.99, False), (120.0, True), (121.0, True)],
)
def test_an_acceptance_at_or_past_the_limit_is_late_and_still_accepted(
    registry: Registry, accepted_minutes: float, late: bool
) -> None:
    for events in ([requested(0), event("accepted", accepted_minutes)],
                   [event("accepted", accepted_minutes), requested(0)]):  # fmt: skip
        referral, changes = apply_all(events, registry)
        assert [c.late for c in changes].count(True) == (1 if late else 0)
        assert accepted_late(referral, limits=LIMITS) is late
        assert furthest_stage(referral) == "accepted"
        assert [s for c in changes for s in c.stage_seconds] == [
            ("accepted", pytest.approx(accepted_minutes * 60.0))
        ]


def test_a_down_referral_is_late_only_after_its_own_day_long_limit(registry: Registry) -> None:
    down = requested(0, sender=HOSPITAL, to_facility_id=TOWN)
    referral, changes = apply_all([down, event("accepted", 1439, TOWN)], registry)
    assert referral["direction"] == "down" and not changes[1].late
    referral, changes = apply_all([down, event("accepted", 1440, TOWN)], registry)
    assert changes[1].late


@pytest.mark.parametrize(
    ("direction_body", "limit_minutes"),
    [
        ({"sender": TOWN}, 120),
        ({"sender": TOWN, "to_facility_id": "yx-thc-chengcun"}, 240),
        ({"sender": TOWN, "to_external_code": "X1", "to_external_scope": "in_county"}, 1440),
    ],
)
def test_expired_from_exactly_the_limit_while_pending(
    registry: Registry, direction_body: dict[str, str], limit_minutes: int
) -> None:
    body = dict(direction_body)
    referral, _ = apply_all([requested(0, **body)], registry)
    at_limit = (T0 + timedelta(minutes=limit_minutes)).timestamp()
    assert is_pending(referral)
    assert not is_expired(referral, now=at_limit - 0.001, limits=LIMITS)
    assert is_expired(referral, now=at_limit, limits=LIMITS)


@pytest.mark.parametrize(
    ("kind", "publisher", "still_open"),
    [("accepted", HOSPITAL, True), ("arrived", HOSPITAL, True), ("rejected", HOSPITAL, False),
     ("cancelled", TOWN, False)],
)  # fmt: skip
def test_pending_ends_at_acceptance_arrival_rejection_or_cancellation(
    registry: Registry, kind: str, publisher: str, still_open: bool
) -> None:
    referral, _ = apply_all([requested(0)], registry)
    assert is_pending(referral) and is_open(referral)
    apply_referral_event(referral, event(kind, 500, publisher), seq=9, registry=registry, limits=LIMITS)
    assert not is_pending(referral)
    assert not is_expired(referral, now=(T0 + timedelta(days=2)).timestamp(), limits=LIMITS)
    assert is_open(referral) is still_open


def test_not_counted_nor_pending_before_its_request(registry: Registry) -> None:
    referral, _ = apply_all([event("accepted", 5)], registry)
    assert not is_open(referral) and not is_pending(referral)
    assert not is_expired(referral, now=T0.timestamp() + 10**6, limits=LIMITS)
    assert not accepted_late(referral, limits=LIMITS)


def test_the_receivers_first_accepted_ward_replaces_the_requested_one(registry: Registry) -> None:
    request = requested(0, sender=HOSPITAL, to_facility_id=TOWN, target_ward_id="general")
    referral, _ = apply_all([request], registry)
    assert target_ward(referral) == "general"
    steps: list[tuple[ReferralEvent, str]] = [
        (
            event("accepted", 1, "yx-thc-tangkou", target_ward_id="rehabilitation"),
            "general",
        ),  # not the receiver
        (event("accepted", 2, TOWN), "general"),  # the receiver, naming no ward
        (event("accepted", 3, TOWN, target_ward_id="rehabilitation"), "rehabilitation"),
        (event("accepted", 4, TOWN, target_ward_id="maternity"), "rehabilitation"),  # not the first
    ]
    for seq, (accept, expected) in enumerate(steps, start=1):
        apply_referral_event(referral, accept, seq=seq, registry=registry, limits=LIMITS)
        assert target_ward(referral) == expected, seq


def test_the_receivers_ward_counts_whatever_the_order(registry: Registry) -> None:
    accept = event("accepted", 3, TOWN, target_ward_id="rehabilitation")
    request = requested(0, sender=HOSPITAL, to_facility_id=TOWN, target_ward_id="general")
    for events in ([accept, request], [request, accept]):
        referral, _ = apply_all(events, registry)
        assert target_ward(referral) == "rehabilitation"
    unnamed, _ = apply_all([requested(0)], registry)
    assert target_ward(unnamed) is None
