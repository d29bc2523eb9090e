"""Faulty traffic for tests: malformed messages with their expected reason, duplicates, reordering.

A test fixture, not part of the product (it lived in streams/simulate/ once; no command used it):
each case's reason is typed by hand from the contract's precedence, and both the product's decoder
(tests/schemas/test_decode.py) and the reference's (tests/support/test_reference.py) must give it.

    >>> for feed, raw, reason in malformed_messages(registry, now=now, seed=1, count=40): ...
    >>> noisy = list(with_duplicates_and_shuffle(events, seed=1, duplicate_fraction=0.05, shuffle_window=20))

`malformed_messages` covers every reject reason of EVENTS.md, including the precedence cases
(a too-large invalid JSON is too_large; a type of another feed is unknown_type; an unknown
facility with an unknown ward is unknown_facility; a field error beats an unknown facility...),
and the referral's own: one destination, an outside code's alphabet, a target ward of the receiver.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Final

import orjson

from schemas.registry import Registry
from tests.support.contract import MAX_MESSAGE_BYTES

Case = tuple[str, bytes, str]  # (feed, the raw message, the reason it must be rejected with)
_PAD: Final = "x" * (MAX_MESSAGE_BYTES + 16)
_DROP: Final = object()  # a field value meaning "leave the field out"


class _Craft:
    """Builds one malformed message around a valid census of the registry's first ward."""

    def __init__(self, registry: Registry, now: datetime, tag: str) -> None:
        hospital = next(f for f in registry.facilities.values() if f.wards)
        self.facility, self.ward, self.now, self.tag = hospital.id, next(iter(hospital.wards)), now, tag
        # A referral's receiver: another facility with wards, each of the two having a ward the other lacks.
        receiver = next(
            f
            for f in registry.facilities.values()
            if f.id != hospital.id
            and set(f.wards) - set(hospital.wards)
            and set(hospital.wards) - set(f.wards)
        )
        self.receiver = receiver.id
        self.sender_only_ward = sorted(set(hospital.wards) - set(receiver.wards))[0]
        self.receiver_only_ward = sorted(set(receiver.wards) - set(hospital.wards))[0]

    def at(self, offset: timedelta) -> str:
        return (self.now + offset).isoformat(timespec="seconds")

    def census(self, **changes: Any) -> bytes:
        base = {
            "event_id": f"bad-{self.tag}",
            "type": "bed.census",
            "schema_version": 1,
            "facility_id": self.facility,
            "occurred_at": self.at(-timedelta(minutes=1)),
            "ward_id": self.ward,
            "beds_staffed": 10,
            "beds_occupied": 5,
            **changes,
        }
        return orjson.dumps({k: v for k, v in base.items() if v is not _DROP})

    def other(self, event_type: str, **fields: Any) -> bytes:
        """A non-census event: the census envelope without the census fields."""
        dropped = {"ward_id": _DROP, "beds_staffed": _DROP, "beds_occupied": _DROP}
        return self.census(**{**dropped, "type": event_type, **fields})

    def transfer(self, to_ward: str) -> bytes:
        return self.other("bed.transfer", ward_id=self.ward, to_ward_id=to_ward, encounter_id="e-1")

    def arrival(self, **changes: Any) -> bytes:
        return self.other("ed.arrival", **{"visit_id": "v-1", "arrival_mode": "walk_in", **changes})

    def referral(self, **changes: Any) -> bytes:
        """A referral request from the census's hospital to the receiver (changes may drop or add fields)."""
        fields = {"referral_id": "f-1", "reason": "recovery", "department": "rehabilitation",
                  "to_facility_id": self.receiver}  # fmt: skip
        return self.other("referral.requested", **{**fields, **changes})

    def acceptance(self, **changes: Any) -> bytes:
        """An acceptance published by the census's hospital (not the receiver)."""
        return self.other("referral.accepted", **{"referral_id": "f-1", **changes})

    def outside(self, **changes: Any) -> bytes:
        """A referral request out of the alliance, by its code and scope."""
        destination = {
            "to_facility_id": _DROP,
            "to_external_code": "GD-GZ-0001",
            "to_external_scope": "out_of_county",
        }
        return self.referral(**{**destination, **changes})


_DAY: Final = timedelta(days=1)
# (feed the message arrives on, how to build it, the reason decode must give); the comments
# name the precedence a case checks.
_CASES: Final[tuple[tuple[str, Callable[[_Craft], bytes], str], ...]] = (
    ("beds", lambda c: c.census(padding=_PAD), "too_large"),
    ("beds", lambda c: b"{" + _PAD.encode(), "too_large"),  # too large AND invalid: size first
    ("beds", lambda c: b'{"type": "bed.census",', "invalid_json"),
    ("visits", lambda c: b"\xff\xfe" + c.arrival()[2:], "invalid_json"),  # not UTF-8
    ("beds", lambda c: c.census().replace(b'"beds_occupied":5', b'"beds_occupied":NaN'), "invalid_json"),
    ("beds", lambda c: b"[1, 2, 3]", "invalid_json"),
    ("beds", lambda c: c.census(type=_DROP), "schema_violation"),
    ("beds", lambda c: c.census(schema_version="1"), "schema_violation"),
    ("beds", lambda c: c.census(schema_version=True), "schema_violation"),
    ("beds", lambda c: c.census(schema_version=2), "unsupported_schema_version"),
    ("beds", lambda c: c.census(schema_version=2, type="bed.explode"), "unsupported_schema_version"),
    ("beds", lambda c: c.census(type="bed.explode"), "unknown_type"),
    ("beds", lambda c: c.arrival(), "unknown_type"),  # a visits type on the beds topic
    ("visits", lambda c: c.arrival(facility_id="nowhere", arrival_mode="teleport"), "schema_violation"),
    ("beds", lambda c: c.census(beds_occupied=-1), "schema_violation"),
    ("beds", lambda c: c.census(beds_staffed=10.0), "schema_violation"),  # integral float
    ("beds", lambda c: c.census(ward_id=_DROP), "schema_violation"),
    ("beds", lambda c: c.census(occurred_at="2026-11-22T08:15:00"), "schema_violation"),  # no offset
    ("beds", lambda c: c.transfer(c.ward), "schema_violation"),  # to the same ward
    ("visits", lambda c: c.other("ed.triage", visit_id="v-1", level=5), "schema_violation"),
    ("beds", lambda c: c.other("heartbeat", feed="visits"), "schema_violation"),  # another feed's heartbeat
    # A milestone of another center is refused before the facility is looked up.
    ("requests", lambda c: c.other("case.milestone", case_id="c-1", category="critical_neonatal",
                                   milestone="delivery", facility_id="nowhere"), "milestone_not_in_category"),
    ("requests", lambda c: c.other("case.milestone", case_id="c-1", category="stroke", milestone="diagnosis",
                                   diagnosis="stemi"), "milestone_not_in_category"),
    # A referral's destination is exactly one of an alliance facility and an outside code with its
    # scope; a target ward needs the facility; the code is of a safe alphabet.
    ("requests", lambda c: c.referral(to_facility_id=_DROP), "schema_violation"),
    ("requests", lambda c: c.referral(to_external_code="GD-GZ-0001", to_external_scope="in_county"),
     "schema_violation"),
    ("requests", lambda c: c.referral(to_external_scope="in_county"), "schema_violation"),  # scope, no code
    ("requests", lambda c: c.outside(to_external_scope=_DROP), "schema_violation"),
    ("requests", lambda c: c.outside(target_ward_id=c.receiver_only_ward), "schema_violation"),
    ("requests", lambda c: c.outside(to_external_code="-GZ"), "schema_violation"),
    ("requests", lambda c: c.outside(to_external_code="广州 1"), "schema_violation"),
    ("requests", lambda c: c.referral(reason="boredom"), "schema_violation"),
    ("requests", lambda c: c.referral(department=""), "schema_violation"),
    ("requests", lambda c: c.referral(department=_DROP, to_facility_id="nowhere"), "schema_violation"),
    ("beds", lambda c: c.referral(), "unknown_type"),
    ("requests", lambda c: c.referral(to_facility_id="nowhere"), "unknown_facility"),
    ("requests", lambda c: c.referral(to_facility_id="nowhere", target_ward_id="nowhere-ward"),
     "unknown_facility"),
    # A target ward is the receiver's: the destination's on a request, the publisher's on an acceptance.
    ("requests", lambda c: c.referral(target_ward_id=c.sender_only_ward), "unknown_ward"),
    ("requests", lambda c: c.acceptance(target_ward_id=c.receiver_only_ward), "unknown_ward"),
    ("requests", lambda c: c.referral(target_ward_id="nowhere-ward", occurred_at=c.at(_DAY)), "unknown_ward"),
    ("beds", lambda c: c.census(facility_id="nowhere", ward_id="nowhere-ward"), "unknown_facility"),
    ("requests", lambda c: c.other("request.submitted", request_id="r-1", category="stroke",
                                   to_facility_id="nowhere"), "unknown_facility"),
    ("beds", lambda c: c.census(ward_id="nowhere-ward"), "unknown_ward"),
    ("beds", lambda c: c.transfer("nowhere-ward"), "unknown_ward"),
    # An unknown ward is reported before a clock problem.
    ("beds", lambda c: c.census(ward_id="nowhere-ward", occurred_at=c.at(_DAY)), "unknown_ward"),
    # An hour ahead, not just past the 5 min tolerance: the message stays in the future until it is
    # processed and until the reference, later, judges it on its own clock.
    ("beds", lambda c: c.census(occurred_at=c.at(timedelta(hours=1))), "future_timestamp"),
    ("beds", lambda c: c.census(occurred_at=c.at(-8 * _DAY)), "too_old"),
    ("beds", lambda c: c.census(x_unknown_field=1, occurred_at=c.at(-30 * _DAY)), "too_old"),
)  # fmt: skip


def malformed_messages(registry: Registry, *, now: datetime, seed: int, count: int) -> list[Case]:
    """`count` malformed messages (at least one of every case) with the reason decode must give.

    The first messages are every case once, in a seeded order; the rest repeat cases with
    fresh event ids. `now` is the service clock the timestamps are relative to.
    """
    rng = random.Random(f"faults:{seed}")
    if count < len(_CASES):
        raise ValueError(f"count must be at least {len(_CASES)} to cover every case")
    order = list(range(len(_CASES)))
    rng.shuffle(order)
    order += [rng.randrange(len(_CASES)) for _ in range(count - len(_CASES))]
    messages: list[Case] = []
    for index, case in enumerate(order):
        feed, build, reason = _CASES[case]
        messages.append((feed, build(_Craft(registry, now, f"{seed}-{index}")), reason))
    return messages


def with_duplicates_and_shuffle(
    events: Iterable[dict[str, Any]], *, seed: int, duplicate_fraction: float, shuffle_window: int
) -> Iterator[dict[str, Any]]:
    """The events, some repeated and all locally reordered.

    A `duplicate_fraction` of events is sent again: half as exact copies, half with the same
    event_id and different content (another `source`, a `sent_at`, an extra field; the routing
    key is kept, so the copy lands on the same partition). Events are reordered within a
    sliding window of `shuffle_window`, so a copy may even precede its original.
    """
    rng = random.Random(f"dupes:{seed}")
    window: list[dict[str, Any]] = []
    for event in events:
        window.append(event)
        if rng.random() < duplicate_fraction:
            window.append(dict(event) if rng.random() < 0.5 else _altered(event))
        while len(window) > max(1, shuffle_window):
            yield window.pop(rng.randrange(len(window)))
    rng.shuffle(window)
    yield from window


def _altered(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "source": "HIS-resend", "sent_at": event["occurred_at"], "x_resent": True}
