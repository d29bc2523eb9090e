"""Shared fixtures: the real brokers (Apache Kafka, and tansu where users meet it), settings
pointing at them, the shipped registry.

`broker` is the suite's broker: one Apache Kafka for the session (the production engine); tests
isolate themselves by topic and group names. `tansu` is the embedded fallback of machines without
Java; `each_broker` runs a test on both. `pytest --broker=tansu` runs the suite's broker tests on
tansu instead (to compare, or to chase a tansu-only fault).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.registry import Registry, load_registry
from streams.broker import Broker, EmbeddedBroker, free_port
from streams.kafka_broker import KafkaBroker, jars_problem, java_problem
from streams.settings import Settings, load_settings
from tests.support.stack import PROJECT_ROOT

KAFKA_LIB_DIR = PROJECT_ROOT / ".medalliance/kafka/lib"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--broker", choices=("kafka", "tansu"), default="kafka", help="the suite's broker (default: kafka)"
    )


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


def kafka_broker(
    workdir: Path, *, port: int | None = None, advertised_port: int | None = None
) -> KafkaBroker:
    """A single-node Apache Kafka (not started); the suite fails, never skips, where it cannot run."""
    problem = java_problem() or jars_problem(KAFKA_LIB_DIR)
    if problem:
        pytest.fail(f"Apache Kafka cannot run here: {problem}", pytrace=False)
    return KafkaBroker(
        port or free_port(),
        controller_port=free_port(),
        advertised_port=advertised_port,
        workdir=workdir,
        lib_dir=KAFKA_LIB_DIR,
        # The cleaner looks for compactable logs every 15 s by default; the compaction test waits less.
        overrides={"log.cleaner.backoff.ms": "1000"},
    )


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    with kafka_broker(tmp_path_factory.mktemp("kafka")) as running:
        yield running


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(free_port(), workdir=tmp_path_factory.mktemp("tansu")) as running:
        yield running


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest) -> Broker:
    return request.getfixturevalue(request.config.getoption("--broker"))  # type: ignore[no-any-return]


@pytest.fixture(params=["kafka", "tansu"])
def each_broker(request: pytest.FixtureRequest) -> Broker:
    """The test once on Apache Kafka and once on tansu."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A broker of its own, for tests that restart or cut it."""
    with kafka_broker(tmp_path / "kafka") as running:
        yield running


def is_tansu(broker: Broker) -> bool:
    return isinstance(broker, EmbeddedBroker)


def broker_settings(broker: Broker, prefix: str, **overrides: object) -> Settings:
    """Settings for an external broker URL with topic names and app id unique to `prefix`."""
    values: dict[str, object] = {
        "broker_url": f"kafka://{broker.bootstrap}",
        "topic_beds": f"{prefix}.beds",
        "topic_visits": f"{prefix}.visits",
        "topic_requests": f"{prefix}.requests",
        "topic_dead_letter": f"{prefix}.dead-letter",
        "app_id": f"{prefix}-app",
        "broker_is_tansu": is_tansu(broker),
    }
    values.update(overrides)
    return load_settings(**values)


def _unique(request: pytest.FixtureRequest) -> str:
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-").lower()[:40]
    return f"t{free_port()}-{name}"


@pytest.fixture
def settings(broker: Broker, request: pytest.FixtureRequest) -> Settings:
    """Settings on the session broker, with topics unique to this test."""
    return broker_settings(broker, _unique(request))


@pytest.fixture
def each_settings(each_broker: Broker, request: pytest.FixtureRequest) -> Settings:
    """Settings on each broker in turn (see `each_broker`), with topics unique to this test."""
    return broker_settings(each_broker, _unique(request))
