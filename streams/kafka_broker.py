"""Apache Kafka itself, single-node KRaft (broker and controller in one JVM) on loopback, from the
jars `make` fetches with Maven (deploy/kafka/pom.xml) into KAFKA_LIB_DIR.

    >>> with KafkaBroker(port=9092, workdir=tmp) as broker:
    ...     ensure_topics(settings)                  # broker.bootstrap == "127.0.0.1:9092"

Storage is formatted in the work dir on the first start (a restart on the same dir keeps the
data); internal topics have replication 1 and few partitions so that start-up takes seconds;
`group.initial.rebalance.delay.ms=0` lets a consumer group form at once. Ready means a metadata
request answers.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Final

from streams.process import ManagedProcess, ProcessError, require_free_port, wait_for_port

# Where make puts the broker's jars (gitignored); MEDALLIANCE_KAFKA_LIB_DIR moves it.
KAFKA_LIB_DIR: Final = Path(".medalliance/kafka/lib")
JAVA_MAJOR: Final = 17  # Kafka 4.x brokers need Java 17
_HEAP: Final = ("-Xms128m", "-Xmx512m")
# Few partitions for the internal topics: 50 (Kafka's default) costs seconds at every start.
_INTERNAL_PARTITIONS: Final = 4
_LOG4J2: Final = """\
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
"""


def java_problem() -> str | None:
    """Why this machine cannot run the broker (one line), or None if it can."""
    java = shutil.which("java")
    if java is None:
        return f"java is not installed (Kafka needs Java {JAVA_MAJOR})"
    shown = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    found = re.search(r'version "(\d+)', shown)
    if found is None or int(found.group(1)) < JAVA_MAJOR:
        return f"Kafka needs Java {JAVA_MAJOR} or newer; `java -version` says: {shown.splitlines()[:1]}"
    return None


def jars_problem(lib_dir: Path) -> str | None:
    """Why the broker's jars are not usable from `lib_dir` (one line), or None."""
    if not any(lib_dir.glob("kafka_2.13-*.jar")):
        return f"the Kafka jars are not in {lib_dir}: run `make demo` or `make test` to fetch them"
    return None


class KafkaBroker(ManagedProcess):
    """`kafka.Kafka` on 127.0.0.1:`port` (clients) and a free controller port."""

    name = "kafka"
    start_timeout: ClassVar[float] = 60.0
    stop_timeout: ClassVar[float] = 20.0

    def __init__(
        self,
        port: int,
        *,
        controller_port: int,
        advertised_port: int | None = None,
        workdir: Path | None = None,
        lib_dir: Path = KAFKA_LIB_DIR,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(workdir=workdir)
        self.port = port
        self.controller_port = controller_port
        self.advertised_port = advertised_port or port
        self.lib_dir = lib_dir.resolve()
        self.overrides = dict(overrides or {})

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.advertised_port}"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def server_properties(self) -> dict[str, str]:
        internal = str(_INTERNAL_PARTITIONS)
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.advertised_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            # The service creates its topics and Faust its own, as on the production cluster.
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": internal,
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": internal,
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "share.coordinator.state.topic.num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",
            **self.overrides,
        }

    def prepare(self) -> None:
        require_free_port(self.port, "MEDALLIANCE_EMBEDDED_BROKER_PORT")
        require_free_port(self.controller_port, "MEDALLIANCE_EMBEDDED_BROKER_PORT")
        for problem in (java_problem(), jars_problem(self.lib_dir)):
            if problem:
                raise ProcessError(problem)
        properties = self.workdir / "server.properties"
        properties.write_text("".join(f"{k}={v}\n" for k, v in self.server_properties().items()))
        (self.workdir / "log4j2.properties").write_text(_LOG4J2)
        if not (self.data_dir / "meta.properties").exists():
            self._format(properties)

    def _format(self, properties: Path) -> None:
        # URL-safe base64 may begin with "-": as `-t ID` the tool would take it for an option (1 in 64).
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        formatted = subprocess.run(
            [*self._java(), "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
             "-c", str(properties)],
            cwd=self.workdir, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if formatted.returncode != 0:
            last = (formatted.stderr or formatted.stdout).strip().splitlines()[-1:]
            raise ProcessError(f"formatting Kafka storage in {self.data_dir} failed: {last}")

    def _java(self) -> list[str]:
        return [
            "java", *_HEAP, "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            "-cp", f"{self.lib_dir}/*",
        ]  # fmt: skip

    def command(self) -> list[str]:
        return [*self._java(), "kafka.Kafka", str(self.workdir / "server.properties")]

    def ready(self) -> bool:
        if not wait_for_port("127.0.0.1", self.port, 0.5):
            return False  # not listening yet: a client would only log connection errors
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000)
        except (KafkaError, OSError, ValueError):
            return False
        try:
            admin.list_topics()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()
