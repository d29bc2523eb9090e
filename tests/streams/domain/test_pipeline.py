"""The batch pipeline: duplicates, redelivery, and a crash at every point between two writes."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from schemas.registry import Registry
from streams.domain.dedupe import Markers
from streams.domain.pipeline import Message, Rules, process_batch
from streams.domain.store import DictStore
from streams.domain.totals import resume_offset
from streams.settings import load_settings

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _event(
    event_id: str, kind: str, minutes_ago: float, facility: str = "yx-ch-people", **fields: Any
) -> bytes:
    body = {
        "event_id": event_id,
        "type": kind,
        "schema_version": 1,
        "facility_id": facility,
        "occurred_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
        **fields,
    }
    return json.dumps(body).encode()


def _visits_log() -> list[bytes]:
    rng = random.Random(7)
    log: list[bytes] = []
    for n in range(20):
        visit = f"v{n}"
        log.append(_event(f"a{n}", "ed.arrival", 100 - n, visit_id=visit, arrival_mode="walk_in"))
        log.append(_event(f"t{n}", "ed.triage", 90 - n, visit_id=visit, level=rng.randint(1, 4)))
        if n % 3:
            log.append(_event(f"d{n}", "ed.departure", 80 - n, visit_id=visit, disposition="discharged"))
        log.append(_event(f"o{n}", "visit.outpatient", 50 - n))
    log.insert(10, log[3])  # a true duplicate (same id, later offset)
    log.insert(20, b"{not json")
    rng.shuffle(log)
    return log


TOWN, VILLAGE, HOSPITAL = "yx-thc-zhigong", "yx-vc-zhigong-01", "yx-ch-people"
# NOW is 10:00 in Asia/Shanghai: a request 900 minutes ago was yesterday (2026-11-21 19:00), local.
REFERRALS = [  # (referral, receiver or outside scope, [(type, minutes ago, publisher), ...])
    ("ref-a", HOSPITAL, [("requested", 300, TOWN), ("accepted", 290, HOSPITAL),
                         ("arrived", 240, HOSPITAL), ("returned", 60, HOSPITAL)]),
    ("ref-b", VILLAGE, [("requested", 200, HOSPITAL), ("rejected", 150, VILLAGE)]),
    ("ref-c", TOWN, [("requested", 250, VILLAGE), ("accepted", 100, TOWN)]),  # 150 min: late
    ("ref-d", "out_of_county", [("requested", 900, HOSPITAL), ("cancelled", 800, HOSPITAL)]),
    ("ref-e", "yx-thc-chengcun", [("requested", 10, TOWN)]),  # pending
]  # fmt: skip


def _referrals_log() -> list[bytes]:
    log: list[bytes] = []
    for referral, receiver, steps in REFERRALS:
        for kind, minutes_ago, publisher in steps:
            fields: dict[str, Any] = {"referral_id": referral}
            if kind == "requested":
                external = receiver in ("in_county", "out_of_county")
                fields |= {"reason": "specialist", "department": "内科"}
                fields |= (
                    {"to_external_code": "GZ-01", "to_external_scope": receiver}
                    if external
                    else {"to_facility_id": receiver}
                )
            elif kind in ("rejected", "cancelled"):
                fields["reason"] = "no bed"
            log.append(_event(f"{referral}-{kind}", f"referral.{kind}", minutes_ago, publisher, **fields))
    duplicate = log[7]  # ref-c's acceptance again (same event_id)
    again = _event("ref-a-accepted-2", "referral.accepted", 280, HOSPITAL, referral_id="ref-a")
    log += [duplicate, again]
    random.Random(11).shuffle(log)
    return log


def _rules(registry: Registry, feed: str) -> Rules:
    settings = load_settings()
    return Rules(
        feed=feed,  # type: ignore[arg-type]
        registry=registry,
        retention=settings.retention,
        zone=settings.zone,
        centers=settings.policy.centers,
        referrals=settings.policy.referrals,
    )


@pytest.fixture
def rules(registry: Registry) -> Rules:
    return _rules(registry, "visits")


@pytest.fixture(params=["visits", "requests"])
def logged(request: pytest.FixtureRequest, registry: Registry) -> tuple[Rules, list[bytes]]:
    """A feed's rules and a log of it (ED visits and outpatients; referrals)."""
    log = _visits_log() if request.param == "visits" else _referrals_log()
    return _rules(registry, request.param), log


class Changelog:
    """A store whose writes are serialised into a log, like a Faust changelog; a 'restart'
    rebuilds the state from a prefix of that log."""

    def __init__(self, writes: list[tuple[str, bytes | None]] | None = None) -> None:
        self.writes = list(writes or [])
        self.live: dict[str, Any] = {}
        for key, raw in self.writes:
            if raw is None:
                self.live.pop(key, None)
            else:
                self.live[key] = orjson.loads(raw)

    def get(self, key: str) -> Any | None:
        return self.live.get(key)

    def set(self, key: str, value: Any) -> None:
        self.live[key] = value
        self.writes.append((key, orjson.dumps(value)))

    def delete(self, key: str) -> None:
        self.live.pop(key, None)
        self.writes.append((key, None))

    def items(self, prefix: str) -> list[tuple[str, Any]]:
        return [(key, value) for key, value in self.live.items() if key.startswith(prefix)]


def _run(store: Any, rules: Rules, log: list[bytes], start: int, batch: int) -> None:
    """One worker's life: the dedupe index is read from the store at start and kept between batches."""
    markers = Markers.load(store, partition=0)
    for first in range(start, len(log), batch):
        messages = [Message(offset, log[offset]) for offset in range(first, min(first + batch, len(log)))]
        process_batch(store, rules, partition=0, messages=messages, now=NOW, markers=markers)


def _counters(store: Any) -> dict[str, Any]:
    """Every counter of partition 0, whichever totals value keeps it (each series is in exactly one)."""
    merged: dict[str, Any] = {}
    for _, value in store.items("t|0|"):
        assert not set(merged) & set(value["counters"])
        merged |= value["counters"]
    return merged


def test_duplicate_and_malformed_are_counted_once_each(rules: Rules) -> None:
    log = _visits_log()
    store = DictStore({})
    _run(store, rules, log, 0, 7)
    counters = _counters(store)
    assert counters["duplicates\x1fvisits"] == 1
    assert counters["rejected\x1fvisits\x1finvalid_json\x1funknown"] == 1
    assert counters["visits\x1fyx-ch-people\x1femergency"] == 20
    assert counters["visits\x1fyx-ch-people\x1foutpatient"] == 20
    departures = sum(1 for n in range(20) if n % 3)
    assert counters["ed_departures\x1fyx-ch-people\x1fdischarged"] == departures


def test_referrals_are_counted_once_by_direction_date_stage_ending_and_lateness(registry: Registry) -> None:
    store = DictStore({})
    _run(store, _rules(registry, "requests"), _referrals_log(), 0, 4)
    counters = _counters(store)
    pairs = [
        ("up", TOWN, HOSPITAL),
        ("down", HOSPITAL, VILLAGE),
        ("up", VILLAGE, TOWN),
        ("external", HOSPITAL, "external_out_of_county"),
        ("lateral", TOWN, "yx-thc-chengcun"),
    ]
    dates = ["2026-11-22", "2026-11-22", "2026-11-22", "2026-11-21", "2026-11-22"]
    expected = {"\x1f".join(("referrals", *pair)): 1.0 for pair in pairs}
    expected |= {
        "\x1f".join(("referrals_day", *pair, day)): 1.0 for pair, day in zip(pairs, dates, strict=True)
    }
    expected |= {
        "referrals_ended\x1fup\x1freturned": 1.0,
        "referrals_ended\x1fdown\x1frejected": 1.0,
        "referrals_ended\x1fexternal\x1fcancelled": 1.0,
        "referrals_accepted_late\x1fup\x1f" + TOWN: 1.0,  # ref-c: 150 min against the 2 h up limit
    }
    assert {k: v for k, v in counters.items() if k.startswith("referrals")} == expected
    assert counters["duplicates\x1frequests"] == 1
    # ref-a accepted after 10 min and arrived after 60, ref-c accepted after 150 (one each).
    accepted, arrived = (
        counters[f"referral_stage_seconds\x1fup\x1f{stage}"] for stage in ("accepted", "arrived")
    )
    assert (sum(accepted["counts"].values()), accepted["sum"]) == (2, 600.0 + 9000.0)
    assert (sum(arrived["counts"].values()), arrived["sum"]) == (1, 3600.0)
    assert accepted["counts"]["600"] == 1 and accepted["counts"]["14400"] == 1  # 10 min, 240 min bounds
    assert not [k for k in counters if k.startswith("referral_stage_seconds") and "\x1fup\x1f" not in k]


def test_redelivering_everything_changes_nothing(logged: tuple[Rules, list[bytes]]) -> None:
    rules, log = logged
    store = DictStore({})
    _run(store, rules, log, 0, 7)
    before = orjson.dumps(store.data, option=orjson.OPT_SORT_KEYS)
    _run(store, rules, log, 0, 5)
    assert orjson.dumps(store.data, option=orjson.OPT_SORT_KEYS) == before


def test_a_crash_between_any_two_writes_neither_loses_nor_doubles(logged: tuple[Rules, list[bytes]]) -> None:
    rules, log = logged
    clean = Changelog()
    _run(clean, rules, log, 0, 10)
    expected = _counters(clean)
    batch = 10
    for crashed_batch in range(0, len(log), batch):
        before = Changelog()
        _run(before, rules, log[:crashed_batch], 0, batch)
        committed = len(before.writes)
        during = Changelog(before.writes)
        _run(during, rules, log[: crashed_batch + batch], crashed_batch, batch)
        for kept in range(committed, len(during.writes) + 1):
            restarted = Changelog(during.writes[:kept])
            # Offsets were committed up to the crashed batch: everything after is delivered again,
            # in batches of another size.
            _run(restarted, rules, log, crashed_batch, 3)
            assert _counters(restarted) == expected, (crashed_batch, kept)


def test_resuming_at_the_states_offset_after_any_prefix_of_the_changelog_is_exact(
    logged: tuple[Rules, list[bytes]],
) -> None:
    """Whatever part of the changelog survives (up to none of it: a commit that ran ahead of its
    writes, a recovery that restored nothing), reading again from resume_offset is exact."""
    rules, log = logged
    clean = Changelog()
    _run(clean, rules, log, 0, 10)
    expected = _counters(clean)
    assert resume_offset(clean, 0) == len(log)
    for kept in range(len(clean.writes) + 1):
        restarted = Changelog(clean.writes[:kept])
        _run(restarted, rules, log, resume_offset(restarted, 0), 3)
        assert _counters(restarted) == expected, kept
