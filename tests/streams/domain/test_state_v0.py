"""A clean upgrade: table state written by the code of decd2a3 (format 0, no versions, series under
metric names, histograms by bucket position) read and carried on by today's code.

The state is a shipped fixture (tests/fixtures/state_v0.json.gz, made by
tests/fixtures/make_state_v0.py running the old commit's own modules): the final value of every
key as the old worker's orjson bytes, the log it came from and the page the old code exported.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.metrics import STATE_UNREAD
from schemas.registry import Registry
from streams.domain.state import VERSION, totals_key
from streams.domain.store import DictStore
from streams.worker_process import parse_metrics
from tests.support.compare import mismatches
from tests.support.pipeline_run import page_samples, partition_of_key, run_log
from tests.support.reference import Published, expected_metrics

FIXTURE = Path(__file__).parents[2] / "fixtures" / "state_v0.json.gz"


@pytest.fixture(scope="module")
def old() -> dict[str, Any]:
    return json.loads(gzip.decompress(FIXTURE.read_bytes()))  # type: ignore[no-any-return]


def _log(old: dict[str, Any]) -> list[Published]:
    return [Published(m["feed"], m["key"].encode(), m["value"].encode(), None) for m in old["log"]]


def _stores(old: dict[str, Any]) -> dict[str, DictStore]:
    """The tables as a worker recovers them from the old changelog (the codec is orjson)."""
    return {
        feed: DictStore({key: orjson.loads(raw) for key, raw in table.items()})
        for feed, table in old["tables"].items()
    }


def test_the_fixture_is_format_0(old: dict[str, Any]) -> None:
    values = [value for store in _stores(old).values() for value in store.data.values()]
    assert len(values) >= 250 and not any("version" in value for value in values)
    kinds = {key[0] for table in old["tables"].values() for key in table}
    assert kinds == {"t", "b", "e", "r", "d"}


def test_old_state_exports_what_the_old_code_exported_and_the_reference(
    old: dict[str, Any], registry: Registry
) -> None:
    now = datetime.fromisoformat(old["now"])
    samples = page_samples(_stores(old), registry, now=now, partitions=old["partitions"])
    before = parse_metrics(old["page"])
    assert len(before) > 1000
    assert {key: samples.get(key) for key in before} == before
    assert not [key for key in samples if key[0] == STATE_UNREAD.name]
    problems = mismatches(samples, expected_metrics(_log(old), now=now))
    assert problems == [], "\n".join(problems)


def test_a_new_worker_carries_on_from_old_state(old: dict[str, Any], registry: Registry) -> None:
    """Today's code goes on from the old tables: the old log delivered again changes nothing, and
    every valid message published once more is a duplicate found through the old dedupe markers."""
    now, partitions = datetime.fromisoformat(old["now"]), old["partitions"]
    log = _log(old)
    again = [m for m in log if m.key != b"bad-key"][::7]
    stores = _stores(old)
    run_log(log, registry, now=now, partitions=partitions, batch=old["batch"], stores=stores)
    run_log(log + again, registry, now=now, partitions=partitions, batch=13, stores=stores)
    samples = page_samples(stores, registry, now=now, partitions=partitions)
    problems = mismatches(samples, expected_metrics(log + again, now=now))
    assert problems == [], "\n".join(problems)
    fresh = run_log(log + again, registry, now=now, partitions=partitions, batch=old["batch"])
    assert samples == page_samples(fresh, registry, now=now, partitions=partitions)
    # Every message moves its partition's feed-wide totals: those are now written in today's format.
    for feed, store in stores.items():
        touched = {partition_of_key(m.key, partitions) for m in again if m.feed == feed}
        assert {store.data[totals_key(p)].get("version") for p in touched} == {VERSION}, feed


def test_the_messages_of_the_log_stay_on_their_partitions(old: dict[str, Any]) -> None:
    """The premise of carrying on: the fixture's partitions are the helper's."""
    for feed, table in old["tables"].items():
        keys = {m["key"] for m in old["log"] if m["feed"] == feed}
        used = {int(key.split("|")[1]) for key in table}
        assert used <= {partition_of_key(key.encode(), old["partitions"]) for key in keys}
