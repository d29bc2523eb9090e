"""Dead letters are recoverable: `medalliance dead-letter show` and `replay`, end to end on tansu.

The story: a new health center starts publishing before the registry knows it; its events are
rejected `unknown_facility`. The registry is updated, the worker reloads it on SIGHUP, the dead
letters are replayed: each event is now counted once. A second replay changes nothing but the
duplicate counter.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from schemas.registry import Registry, load_registry, shipped_registry_path
from streams.broker import ensure_topics
from streams.dead_letter import parse_record, read_dead_letters, select
from streams.process import wait_until
from streams.settings import Settings
from streams.worker_process import WorkerProcess, settings_env
from tests.support.stack import PROJECT_ROOT, produce, total

NEW_FACILITY = "yx-thc-newtown"
# The installed console script: `python -m streams.cli` loads streams.cli twice (as __main__ too), so
# a command's streams.cli.UsageError is not the class __main__ catches (reported to the lead).
MEDALLIANCE = str(Path(sys.executable).parent / "medalliance")
OUTPATIENTS = 6
ARRIVALS = 4


def _record(reason: str, original: dict[str, Any] | bytes, **extra: Any) -> bytes:
    body: dict[str, Any] = {"reason": reason, "message": "m", "feed": "visits", "topic": "t.visits"}
    body |= {"partition": 1, "offset": 7, "received_at": "2026-11-22T08:00:00Z", **extra}
    if isinstance(original, bytes):
        import base64

        body["original_base64"] = base64.b64encode(original).decode()
    else:
        body["original"] = orjson.dumps(original).decode()
    return orjson.dumps(body)


def test_parse_and_select_by_reason_facility_and_time(registry: Registry) -> None:
    known = parse_record(_record("too_old", {"facility_id": "yx-ch-people"}), b"yx-ch-people")
    stranger = parse_record(_record("unknown_facility", {"facility_id": NEW_FACILITY}), None)
    binary = parse_record(_record("invalid_json", b"\xff\xfe", received_at="2026-11-23T00:00:00+00:00"), None)
    assert known and stranger and binary
    assert parse_record(b"not a record", None) is None
    assert binary.original == b"\xff\xfe" and binary.facility_label(registry) == "unknown"
    letters = [known, stranger, binary]
    assert select(letters, registry=registry, reason="too_old") == [known]
    assert select(letters, registry=registry, facility="unknown") == [stranger, binary]
    assert select(letters, registry=registry, facility=NEW_FACILITY) == [stranger]
    assert select(letters, registry=registry, since=datetime(2026, 11, 22, 12, tzinfo=UTC)) == [binary]


def _registry_with_new_facility(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["facilities"].append(
        {"id": NEW_FACILITY, "name": "阳西县新城镇卫生院", "name_en": "Newtown Health Center",
         "level": "town_health_center", "township": "zhigong", "ed_beds": 2}
    )  # fmt: skip
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _events(now: datetime) -> list[dict[str, Any]]:
    at = (now - timedelta(hours=2)).isoformat()
    base = {"schema_version": 1, "facility_id": NEW_FACILITY, "occurred_at": at}
    events = [{**base, "event_id": f"dl-o-{i}", "type": "visit.outpatient"} for i in range(OUTPATIENTS)]
    events += [
        {**base, "event_id": f"dl-a-{i}", "type": "ed.arrival", "visit_id": f"v-secret{i:06d}",
         "arrival_mode": "ambulance"}
        for i in range(ARRIVALS)
    ]  # fmt: skip
    return events


def _cli(settings: Settings, *args: str) -> str:
    env = {**os.environ, **settings_env(settings)}
    done = subprocess.run(
        [MEDALLIANCE, "dead-letter", *args],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_for(worker: WorkerProcess, predicate: Any, what: str, timeout: float = 60.0) -> dict[Any, float]:
    def reached() -> dict[Any, float] | None:
        samples = worker.scrape()
        return samples if predicate(samples) else None

    return wait_until(
        reached, timeout=timeout, interval=0.3, what=lambda: f"{what}; log: {worker.log_tail()}"
    )


def _count(samples: dict[Any, float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for k, v in total(samples, name).items() if wanted <= set(k))


@pytest.mark.slow
def test_rejected_then_registry_fixed_then_replayed_counts_once(settings: Settings, tmp_path: Path) -> None:
    registry_path = tmp_path / "registry.yaml"
    registry_path.write_bytes(shipped_registry_path().read_bytes())
    settings = settings.model_copy(update={"registry_path": registry_path})
    ensure_topics(settings)
    worker = WorkerProcess(settings, tmp_path).start().wait_ready()
    try:
        events = _events(datetime.now(UTC))
        produce(settings, [(settings.topic_visits, NEW_FACILITY.encode(), orjson.dumps(e)) for e in events])
        rejected = "medalliance_events_rejected_total"
        _wait_for(
            worker, lambda s: _count(s, rejected, reason="unknown_facility") == len(events), "rejections"
        )
        assert len(read_dead_letters(settings)) == len(events)

        shown = _cli(settings, "show", "--reason", "unknown_facility")
        assert "unknown_facility" in shown and NEW_FACILITY in shown and str(len(events)) in shown
        assert "secret" not in shown  # neither an original nor a pseudonym is ever printed

        _registry_with_new_facility(registry_path)
        assert NEW_FACILITY in load_registry(registry_path).facilities
        os.kill(worker.pid, signal.SIGHUP)  # type: ignore[arg-type]
        _wait_for_log(worker, "registry reloaded")

        assert f"replayed {len(events)}" in _cli(settings, "replay", "--reason", "unknown_facility")
        accepted = "medalliance_facility_events_total"
        samples = _wait_for(
            worker, lambda s: _count(s, accepted, facility=NEW_FACILITY) == len(events), "replay"
        )
        assert (
            _count(samples, "medalliance_visits_total", facility=NEW_FACILITY, kind="emergency") == ARRIVALS
        )
        assert (
            _count(samples, "medalliance_visits_total", facility=NEW_FACILITY, kind="outpatient")
            == OUTPATIENTS
        )

        _cli(settings, "replay", "--facility", NEW_FACILITY)  # the same letters again: all duplicates
        duplicates = "medalliance_events_duplicate_total"
        samples = _wait_for(
            worker, lambda s: _count(s, duplicates, feed="visits") == len(events), "duplicates"
        )
        assert _count(samples, accepted, facility=NEW_FACILITY) == len(events)
        assert _count(samples, rejected, reason="unknown_facility") == len(events)
    finally:
        worker.stop()


def _wait_for_log(worker: WorkerProcess, text: str, timeout: float = 20.0) -> None:
    wait_until(
        lambda: text in worker.log_path.read_text(errors="replace"), timeout=timeout,
        what=lambda: f"{text!r} in the worker log: {worker.log_tail()}",
    )  # fmt: skip


def test_replay_without_a_selection_is_a_usage_error(settings: Settings) -> None:
    env = {**os.environ, **settings_env(settings)}
    done = subprocess.run(
        [MEDALLIANCE, "dead-letter", "replay"],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--all" in done.stderr
