"""Shared fixtures: the real tansu broker, settings pointing at it, the shipped registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.registry import Registry, load_registry
from streams.broker import EmbeddedBroker, free_port
from streams.settings import Settings, load_settings


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One tansu broker for the session; tests isolate themselves by topic names (see `settings`)."""
    with EmbeddedBroker(free_port(), log_dir=tmp_path_factory.mktemp("broker")) as running:
        yield running


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of its own, for tests that restart or cut it."""
    with EmbeddedBroker(free_port(), log_dir=tmp_path) as running:
        yield running


def broker_settings(broker: EmbeddedBroker, prefix: str, **overrides: object) -> Settings:
    """Settings for an external broker URL with topic names and app id unique to `prefix`."""
    values: dict[str, object] = {
        "broker_url": f"kafka://{broker.bootstrap}",
        "topic_beds": f"{prefix}.beds",
        "topic_visits": f"{prefix}.visits",
        "topic_requests": f"{prefix}.requests",
        "topic_dead_letter": f"{prefix}.dead-letter",
        "app_id": f"{prefix}-app",
        "broker_is_tansu": True,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(broker: EmbeddedBroker, request: pytest.FixtureRequest) -> Settings:
    """Settings on the session broker, with topics unique to this test."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-").lower()[:40]
    return broker_settings(broker, f"t{free_port()}-{name}")
