"""Live simulation on the real broker: the virtual clock never publishes an event ahead of time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from streams.cli import main
from streams.settings import Settings
from streams.simulate.live import LiveWindow
from tests.streams.test_publish import consume_all, env  # noqa: F401 - fixture


def test_window_plan_ends_at_now() -> None:
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    window = LiveWindow.plan(now, duration=timedelta(hours=1), speed=60, backdate=timedelta(minutes=20))
    # 1 h at 60x takes 1 real minute; the window's end (virtual) is then reached exactly at real now.
    assert window.virtual_start == now - timedelta(minutes=59)
    assert window.start == window.virtual_start - timedelta(minutes=20)
    plain = LiveWindow.plan(now, duration=None, speed=1, backdate=timedelta(0))
    assert plain.start == plain.virtual_start == now


def test_virtual_clock_runs_at_speed_until_it_meets_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    real = [1_800_000_000.0]  # a real clock the test moves by hand
    monkeypatch.setattr(time, "time", lambda: real[0])
    now = datetime.fromtimestamp(real[0], UTC)
    window = LiveWindow.plan(now, duration=timedelta(seconds=10), speed=1000, backdate=timedelta(0))
    # 10 s at 1000x: the virtual clock starts 9.99 s behind and gains 0.999 s per real ms.
    assert window.now() == pytest.approx(real[0] - 9.99)
    real[0] += 0.005
    assert window.now() == pytest.approx(real[0] - 9.99 + 0.005 * 999)
    real[0] += 0.005  # 10 ms in: the virtual clock has reached real time (9.99 s gained)...
    assert window.now() == pytest.approx(real[0])
    real[0] += 60.0  # ...and from then on it is the real clock, never ahead of it
    assert window.now() == real[0]


def test_live_scenario_publishes_backdated_but_never_future_events(
    env: Settings,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = datetime.now(UTC)
    argv = [
        "simulate",
        "--speed",
        "600",
        "--duration",
        "10m",
        "--scenario",
        "overdue-request",
        "--backdate",
        "20m",
        "--scenario-minutes",
        "60",
        "--seed",
        "9",
    ]
    assert main(argv) == 0
    finished = datetime.now(UTC)
    assert (finished - started).total_seconds() < 30
    summary = capsys.readouterr().out
    published = int(summary.split()[1])
    records = consume_all(env, published)
    assert len(records) == published > 500
    events = [orjson.loads(r.value) for r in records]
    for record, event in zip(records, events, strict=True):
        occurred = datetime.fromisoformat(event["occurred_at"])
        assert occurred.timestamp() <= record.timestamp / 1000 + 1  # whole-second timestamps
    earliest = min(datetime.fromisoformat(e["occurred_at"]) for e in events)
    assert earliest <= started - timedelta(minutes=25)  # the backdated part (plus the speed lead)
    submitted = [
        e for e in events if e["type"] == "request.submitted" and e["to_facility_id"] == "yx-ch-people"
    ]
    accepted = {e["request_id"] for e in events if e["type"] == "request.accepted"}
    overdue = [
        e
        for e in submitted
        if e["request_id"] not in accepted
        and started - datetime.fromisoformat(e["occurred_at"]) >= timedelta(minutes=10)
    ]
    assert len(overdue) >= 3
