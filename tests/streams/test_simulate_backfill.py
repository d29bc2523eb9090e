"""The day so far before going live: how far back the backlog reaches, which heartbeats it leaves
out, the work in progress at go-live, the progress file `up` reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from schemas.registry import Registry
from streams.cli import main
from streams.simulate import generate
from streams.simulate.backfill import (
    BackfillProgress,
    BackfillStatus,
    plan_backlog,
    read_backfill_status,
    split_backlog,
)

CST = timezone(timedelta(hours=8))
Event = dict[str, Any]
_CLOSED = ("request.completed", "request.rejected", "request.cancelled")


@pytest.mark.parametrize(
    ("now", "start"),
    [
        # After midnight the last 12 h reach further back: the previous afternoon.
        (datetime(2026, 11, 22, 3, 52, tzinfo=CST), datetime(2026, 11, 21, 15, 52, tzinfo=CST)),
        (datetime(2026, 11, 22, 0, 10, tzinfo=CST), datetime(2026, 11, 21, 12, 10, tzinfo=CST)),
        (datetime(2026, 11, 22, 12, 0, tzinfo=CST), datetime(2026, 11, 22, 0, 0, tzinfo=CST)),
        (datetime(2026, 11, 22, 23, 50, tzinfo=CST), datetime(2026, 11, 22, 0, 0, tzinfo=CST)),
        # Midnight is the alliance's, not UTC's: 10:00 UTC is 18:00 there, 18 h after its midnight.
        (datetime(2026, 11, 22, 10, 0, tzinfo=UTC), datetime(2026, 11, 21, 16, 0, tzinfo=UTC)),
    ],
)
def test_backlog_reaches_back_to_midnight_or_12_hours(now: datetime, start: datetime) -> None:
    backlog = plan_backlog(now)
    assert backlog.start == start
    assert backlog.live_from == now
    assert backlog.span == now - start


def _event(kind: str, at: str, facility: str = "yx-ch-people", **fields: str) -> Event:
    return {"type": kind, "occurred_at": f"2026-11-22T{at}+08:00", "facility_id": facility, **fields}


def test_only_each_feeds_last_heartbeat_of_the_backlog_is_kept() -> None:
    beat = "heartbeat"
    events = [
        _event(beat, "03:00:00", feed="beds"),
        _event(beat, "03:00:10", feed="visits"),
        _event("ed.arrival", "03:00:20", visit_id="v-1"),
        _event(beat, "03:00:40", feed="beds"),
        _event(beat, "03:00:40", "yx-th-rugong", feed="beds"),  # another facility: its own
        _event(beat, "03:01:20", feed="beds"),
        _event("ed.departure", "03:01:30", visit_id="v-1"),
        _event(beat, "03:02:00", feed="beds"),  # at go-live: live, not backlog
        _event(beat, "03:02:50", feed="beds"),
    ]
    backlog, live = split_backlog(iter(events), until=datetime(2026, 11, 22, 3, 2, tzinfo=CST))
    assert backlog == [events[1], events[2], events[4], events[5], events[6]]
    assert list(live) == [events[7], events[8]]


def test_a_backlog_that_ends_before_going_live_is_all_kept_but_superseded_beats() -> None:
    events = [_event("heartbeat", "03:00:00", feed="beds"), _event("heartbeat", "03:00:30", feed="beds")]
    backlog, live = split_backlog(events, until=datetime(2026, 11, 22, 4, 0, tzinfo=CST))
    assert backlog == [events[1]]
    assert list(live) == []


def _in_progress(events: list[Event]) -> tuple[set[str], set[str]]:
    """(open request ids, visit ids in the ED) after `events`, folded here from the contract."""
    requests: set[str] = set()
    patients: set[str] = set()
    for event in events:
        kind = event["type"]
        if kind == "request.submitted":
            requests.add(event["request_id"])
        elif kind in _CLOSED:
            requests.discard(event["request_id"])
        elif kind == "ed.arrival":
            patients.add(event["visit_id"])
        elif kind == "ed.departure":
            patients.discard(event["visit_id"])
    return requests, patients


def test_the_simulator_alone_leaves_no_request_open_at_some_hours(registry: Registry) -> None:
    """The premise of GoLive: seed 1's night has no open request at 05:00."""
    night = datetime(2026, 11, 21, 17, 0, tzinfo=CST)
    requests, _ = _in_progress(list(generate(registry, seed=1, start=night, duration=timedelta(hours=12))))
    assert requests == set()


@pytest.mark.parametrize("hour", [(0, 10), (3, 30), (5, 0), (23, 50)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_going_live_there_are_open_requests_and_ed_patients(
    registry: Registry, hour: tuple[int, int], seed: int
) -> None:
    backlog = plan_backlog(datetime(2026, 11, 22, *hour, tzinfo=CST))
    after = timedelta(hours=12)  # an ED stay can last many hours (median 2 h, 5% over 4 h)
    events = generate(
        registry, seed=seed, start=backlog.start, duration=backlog.span + after, live_from=backlog.live_from
    )
    replayed, live = split_backlog(events, until=backlog.live_from)
    requests, patients = _in_progress(replayed)
    assert len(requests) >= 3
    assert len(patients) >= 2
    # They are real work, not props: within 12 h of going live every one of them is closed.
    still_open, still_in = _in_progress([*replayed, *live])
    assert not requests & still_open
    assert not patients & still_in


def test_the_status_file_says_how_far_the_replay_is(tmp_path: Path) -> None:
    path = tmp_path / "backfill.json"
    assert read_backfill_status(path) is None
    status = BackfillStatus(path, backlog=4500, since=datetime(2026, 11, 21, 7, 52, tzinfo=UTC))
    assert read_backfill_status(path) == BackfillProgress(4500, 0, "2026-11-21T15:52:00+08:00")
    for _ in range(2001):
        status.count_published()
    assert read_backfill_status(path) == BackfillProgress(4500, 2000, "2026-11-21T15:52:00+08:00")
    for _ in range(2499):
        status.count_published()
    finished = read_backfill_status(path)
    assert finished == BackfillProgress(4500, 4500, "2026-11-21T15:52:00+08:00")
    assert finished is not None and finished.done
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backfill", "--out", "day.ndjson"], "--backfill applies to live mode only"),
        (["--backfill", "--backdate", "20m"], "give it or --backdate, not both"),
        (["--backfill-status", "s.json"], "--backfill-status goes with --backfill"),
    ],
)
def test_backfill_flags_that_do_not_go_together_say_so_in_one_line(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", *argv]) == 2
    error = capsys.readouterr().err
    assert message in error
    assert error.count("\n") == 1
