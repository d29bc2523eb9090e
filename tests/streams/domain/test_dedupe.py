"""Dedupe markers: the index answers like a plain set of seen ids, across chunks, reloads and days."""

from __future__ import annotations

import random

import orjson

from streams.domain.dedupe import CHUNK, Markers
from streams.domain.store import DictStore

DAY = 20_000
HORIZON = 8


class _Cache:
    def __init__(self, store: DictStore) -> None:
        self.store = store
        self.writes: list[str] = []

    def get(self, key: str) -> object:
        return self.store.get(key)

    def put(self, key: str, value: object) -> None:
        # Stored as a changelog would carry it: through JSON.
        self.store.set(key, orjson.loads(orjson.dumps(value)))
        self.writes.append(key)


def _sighting(markers: Markers, event_id: str, offset: int) -> bool:
    return markers.first_sighting(event_id=event_id, offset=offset, day=DAY, horizon_days=HORIZON)


def test_index_matches_a_set_across_chunks_reloads_and_redeliveries() -> None:
    rng = random.Random(11)
    ids = [f"id-{n}" for n in range(900)]
    stream = [rng.choice(ids) for _ in range(3 * CHUNK * 4)]
    store = DictStore({})
    first_offset: dict[str, int] = {}
    markers = Markers.load(store, partition=2)
    offset = 0
    while offset < len(stream):
        batch = range(offset, min(len(stream), offset + rng.randint(1, 300)))
        for o in batch:
            event_id = stream[o]
            expected = first_offset.setdefault(event_id, o) == o
            assert _sighting(markers, event_id, o) is expected
        cache = _Cache(store)
        markers.write_new(cache)
        if rng.random() < 0.3:  # a restart: the index comes back from the table alone
            markers = Markers.load(store, partition=2)
        # The batch's first message delivered again is still the original, not a duplicate.
        again = batch[0]
        original = first_offset[stream[again]] == again
        assert _sighting(markers, stream[again], again) is original
        offset = batch[-1] + 1
    chunks = {key: value for key, value in store.data.items() if key.startswith("d|2|")}
    assert len(chunks) == -(-len(first_offset) // CHUNK)  # full chunks, then one open chunk
    assert all(len(value["ids"].split(",")) <= CHUNK for value in chunks.values())


def test_only_the_open_chunk_is_rewritten() -> None:
    store = DictStore({})
    markers = Markers.load(store, partition=0)
    rewritten: list[str] = []
    for n in range(5 * CHUNK):
        markers.first_sighting(event_id=f"e{n}", offset=n, day=DAY, horizon_days=HORIZON)
        cache = _Cache(store)
        markers.write_new(cache)
        rewritten += cache.writes
    # One write per batch of one id: the chunk it went to, never an earlier (full) one.
    assert rewritten == [f"d|0|{DAY}|{n // CHUNK}" for n in range(5 * CHUNK)]


def test_an_id_seen_before_the_horizon_is_new_again() -> None:
    store = DictStore({})
    markers = Markers.load(store, partition=0)
    assert markers.first_sighting(event_id="old", offset=1, day=DAY, horizon_days=HORIZON)
    markers.write_new(_Cache(store))
    later = DAY + HORIZON
    assert not markers.first_sighting(event_id="old", offset=5, day=later, horizon_days=HORIZON)
    assert markers.first_sighting(event_id="old", offset=9, day=later + 1, horizon_days=HORIZON)
    markers.forget_before(later + 1 - HORIZON)
    assert DAY not in markers.days
