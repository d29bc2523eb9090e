"""The publisher against the real tansu broker: right topic, right key, bad lines held back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from schemas.registry import Registry
from streams.broker import free_port
from streams.cli import main
from streams.publish import publish_events, raw_message
from streams.settings import Settings, load_settings
from streams.simulate import generate
from tests.support.faults import malformed_messages

FEED_PREFIX = {
    "bed": "beds",
    "visit": "visits",
    "ed": "visits",
    "request": "requests",
    "case": "requests",
    "referral": "requests",
}


def _expected_route(event: dict[str, Any], settings: Settings) -> tuple[str, str]:
    # Written from EVENTS.md's transport table, independently of streams.simulate.wire.
    feed = event["feed"] if event["type"] == "heartbeat" else FEED_PREFIX[event["type"].split(".")[0]]
    entity = {"request": "request_id", "case": "case_id", "referral": "referral_id"}.get(
        event["type"].split(".")[0], "facility_id"
    )
    key = event[entity]
    return settings.topic(feed), key  # type: ignore[arg-type]


def consume_all(settings: Settings, expected: int, timeout: float = 20.0) -> list[Any]:
    """Every record of the three feed topics, read from the beginning."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers(), enable_auto_commit=False, consumer_timeout_ms=1000
    )
    try:
        partitions = [
            TopicPartition(settings.topic(feed), p)
            for feed in ("beds", "visits", "requests")
            for p in range(settings.partitions)
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    for name in ("broker_url", "topic_beds", "topic_visits", "topic_requests", "topic_dead_letter", "app_id"):
        monkeypatch.setenv(f"MEDALLIANCE_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("MEDALLIANCE_BROKER_IS_TANSU", "true")
    yield settings


def test_every_event_lands_on_its_topic_with_its_key(settings: Settings, registry: Registry) -> None:
    start = datetime.now(UTC) - timedelta(minutes=20)
    events = list(generate(registry, seed=8, start=start, duration=timedelta(minutes=10)))
    events += [
        e
        for e in generate(
            registry, seed=8, start=start, duration=timedelta(minutes=10), scenario="overdue-request"
        )
        if e["type"].startswith("request.")
    ]
    report = publish_events(settings, events)
    assert report.published == len(events)
    records = consume_all(settings, len(events))
    assert len(records) == len(events)
    by_id = {e["event_id"]: e for e in events}
    partition_of_key: dict[tuple[str, str], int] = {}
    for record in records:
        event = orjson.loads(record.value)
        assert event == by_id[event["event_id"]]
        topic, key = _expected_route(event, settings)
        assert (record.topic, record.key.decode()) == (topic, key)
        # One key, one partition: a facility's (or request's) events stay in order.
        assert partition_of_key.setdefault((topic, key), record.partition) == record.partition
    assert {r.topic for r in records} == {settings.topic(f) for f in ("beds", "visits", "requests")}
    # Topics were created with the configured partitions, not tansu's automatic 4 (BROKER.md quirk 2).
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers())
    try:
        for feed in ("beds", "visits", "requests"):
            assert consumer.partitions_for_topic(settings.topic(feed)) == set(range(settings.partitions))
    finally:
        consumer.close()
    assert max(r.partition for r in records) >= 4


def test_malformed_bytes_are_published_as_is(settings: Settings, registry: Registry) -> None:
    messages = malformed_messages(registry, now=datetime.now(UTC), seed=2, count=60)
    report = publish_events(settings, [(feed, raw) for feed, raw, _ in messages])
    assert report.published == 60
    records = consume_all(settings, 60)
    assert sorted((r.topic, r.value) for r in records) == sorted(
        (settings.topic(f), raw) for f, raw, _ in messages
    )


def test_publish_cli_holds_back_bad_lines(
    env: Settings, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=10)
    good = [e for e in generate(registry, seed=3, start=start, duration=timedelta(minutes=8))][:300]
    bad = [
        b"not json",
        orjson.dumps(
            {
                **good[0],
                "event_id": "bad-ward",
                "type": "bed.admit",
                "ward_id": "nope",
                "encounter_id": "e",
                "facility_id": "yx-ch-people",
            }
        ),
        orjson.dumps({**good[1], "event_id": "bad-future", "occurred_at": "2099-01-01T00:00:00+08:00"}),
    ]
    assert len(good) == 300  # at night village clinics are closed: 8 minutes always give 300 events
    lines = [orjson.dumps(e) for e in good[:100]] + bad + [orjson.dumps(e) for e in good[100:]]
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert main(["publish", str(path)]) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    for number, reason in ((101, "invalid_json"), (102, "unknown_ward"), (103, "future_timestamp")):
        assert f"line {number}: {reason}: " in text
    assert "published 300 events" in text
    records = consume_all(env, 300)
    assert len(records) == 300
    published_ids = {orjson.loads(r.value)["event_id"] for r in records}
    assert published_ids == {e["event_id"] for e in good}


def test_unreachable_broker_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDALLIANCE_BROKER_URL", f"kafka://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MEDALLIANCE_PUBLISH_DEADLINE_SECONDS", "5")
    path = tmp_path / "one.ndjson"
    path.write_text("\n")
    started = time.monotonic()
    assert main(["publish", str(path)]) == 2
    assert 5 <= time.monotonic() - started < 15  # it waited out its deadline, no longer
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Kafka broker answers" in err[0] and "within 5 s" in err[0]


def test_settings_map_security_options() -> None:
    from streams.publish import aiokafka_options

    options = aiokafka_options(
        load_settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism="SCRAM-SHA-256",
            kafka_sasl_username="u",
            kafka_sasl_password="p",
        )
    )
    assert options == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "u",
        "sasl_plain_password": "p",
    }


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"request_id": "req-1", "facility_id": "yx-ch-people"}, b"req-1"),
        ({"case_id": "case-1", "facility_id": "yx-thc-zhigong"}, b"case-1"),  # every event of a case together
        ({"facility_id": "yx-ch-people"}, b"yx-ch-people"),
        ({"facility_id": 7}, None),
    ],
)
def test_a_raw_message_is_keyed_like_a_valid_one(fields: dict[str, object], key: bytes | None) -> None:
    settings = load_settings()
    topic, got, _ = raw_message(settings, "requests", json.dumps(fields).encode())
    assert (topic, got) == (settings.topic("requests"), key)
