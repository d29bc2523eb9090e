"""The embedded Apache Kafka's storage: formatted once, with any cluster id the uuid gives."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest

from streams.broker import free_port
from streams.kafka_broker import KafkaBroker
from tests.conftest import KAFKA_LIB_DIR


def _dashed_uuid() -> uuid.UUID:
    """A uuid whose URL-safe base64 begins with "-" (1 in 64): the tool once took it for an option."""
    return next(u for u in iter(uuid.uuid4, None) if base64.urlsafe_b64encode(u.bytes).startswith(b"-"))


def test_storage_is_formatted_even_when_the_cluster_id_begins_with_a_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dashed = _dashed_uuid()
    monkeypatch.setattr(uuid, "uuid4", lambda: dashed)
    broker = KafkaBroker(free_port(), controller_port=free_port(), workdir=tmp_path, lib_dir=KAFKA_LIB_DIR)
    broker.prepare()  # formats; starts nothing
    meta = (broker.data_dir / "meta.properties").read_text()
    assert f"cluster.id={base64.urlsafe_b64encode(dashed.bytes).decode().rstrip('=')}" in meta
    mtime = (broker.data_dir / "meta.properties").stat().st_mtime_ns
    broker.prepare()  # a second start keeps the storage (and its data) as it is
    assert (broker.data_dir / "meta.properties").stat().st_mtime_ns == mtime
