"""The one configuration class. Nothing else in the project reads the environment.

    >>> settings = Settings()                   # MEDALLIANCE_* environment variables
    >>> settings.topic("beds")                  # 'medalliance.beds'

Every field is set by the environment variable MEDALLIANCE_<FIELD NAME IN CAPITALS>;
nested values are JSON, e.g. MEDALLIANCE_WORKER_URLS='["http://w1:6066"]'. Thresholds and windows are
not settings: they are the policy (schemas/policy.py), a file MEDALLIANCE_POLICY_PATH names.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.events import Feed
from schemas.policy import SHIPPED_POLICY, Policy, PolicyError, load_policy
from schemas.registry import shipped_registry_path

ENV_PREFIX: Final = "MEDALLIANCE_"
EMBEDDED: Final = "embedded"
Port = Annotated[int, Field(ge=1, le=65535)]


class SettingsError(ValueError):
    """A configuration value is invalid; the message is one readable line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")
    _policy: Policy = PrivateAttr()

    broker_url: str = Field(
        EMBEDDED,
        description="MEDALLIANCE_BROKER_URL: `embedded` (start a broker on loopback, see "
        "MEDALLIANCE_EMBEDDED_BROKER) or a Kafka bootstrap list such as `kafka://kafka-0:9092,kafka-1:9092`",
    )
    broker_is_tansu: bool = Field(
        False,
        description="MEDALLIANCE_BROKER_IS_TANSU: the external broker URL is tansu: apply its workarounds",
    )
    embedded_broker: Literal["auto", "kafka", "tansu"] = Field(
        "auto",
        description="MEDALLIANCE_EMBEDDED_BROKER: which broker `embedded` starts: Apache Kafka (needs Java "
        "17 and the jars make fetches), tansu (in memory, no Java), or auto: Kafka where it runs, else tansu",
    )
    embedded_broker_port: Port = Field(9092, description="MEDALLIANCE_EMBEDDED_BROKER_PORT: its client port")
    kafka_lib_dir: Path = Field(
        Path(".medalliance/kafka/lib"),
        description="MEDALLIANCE_KAFKA_LIB_DIR: the Apache Kafka jars for the embedded broker (make fetches "
        "them with Maven from deploy/kafka/pom.xml)",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="MEDALLIANCE_KAFKA_SECURITY_PROTOCOL: how clients talk to Kafka (TLS and/or SASL)",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="MEDALLIANCE_KAFKA_SASL_MECHANISM: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
    )
    kafka_sasl_username: str | None = Field(None, description="MEDALLIANCE_KAFKA_SASL_USERNAME: SASL user")
    kafka_sasl_password: SecretStr | None = Field(
        None, description="MEDALLIANCE_KAFKA_SASL_PASSWORD: SASL password (a secret: never logged)"
    )
    kafka_ssl_cafile: Path | None = Field(None, description="MEDALLIANCE_KAFKA_SSL_CAFILE: CA bundle (PEM)")
    kafka_ssl_certfile: Path | None = Field(None, description="MEDALLIANCE_KAFKA_SSL_CERTFILE: client cert")
    kafka_ssl_keyfile: Path | None = Field(None, description="MEDALLIANCE_KAFKA_SSL_KEYFILE: client key")

    topic_beds: str = Field("medalliance.beds", description="MEDALLIANCE_TOPIC_BEDS: topic of the beds feed")
    topic_visits: str = Field(
        "medalliance.visits", description="MEDALLIANCE_TOPIC_VISITS: topic of the visits feed"
    )
    topic_requests: str = Field(
        "medalliance.requests", description="MEDALLIANCE_TOPIC_REQUESTS: topic of the high-risk requests feed"
    )
    topic_dead_letter: str = Field(
        "medalliance.dead-letter",
        description="MEDALLIANCE_TOPIC_DEAD_LETTER: where rejected messages go, with the reason",
    )
    partitions: int = Field(8, ge=1, le=1024, description="MEDALLIANCE_PARTITIONS: per source topic")
    replication_factor: int = Field(
        1, ge=1, le=7, description="MEDALLIANCE_REPLICATION_FACTOR: of the topics the service creates"
    )

    changelog_topic_configs: dict[str, str] = Field(
        default_factory=dict,
        description="MEDALLIANCE_CHANGELOG_TOPIC_CONFIGS: topic configs added to the tables' changelogs when "
        'the service creates them (always compacted), JSON, e.g. \'{"min.cleanable.dirty.ratio": "0.1"}\'',
    )
    publish_deadline_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="MEDALLIANCE_PUBLISH_DEADLINE_SECONDS: how long `publish` and `simulate` wait for a "
        "broker that is away (connecting, or re-sending with backoff from 0.5 s doubling to 5 s)",
    )
    app_id: str = Field("medalliance", description="MEDALLIANCE_APP_ID: Faust app id = consumer group")
    web_host: str = Field("127.0.0.1", description="MEDALLIANCE_WEB_HOST: the worker's web bind address")
    web_port: Port = Field(6066, description="MEDALLIANCE_WEB_PORT: /metrics, /api/requests/open, /health")
    store: Literal["memory", "rocksdb"] = Field(
        "memory", description="MEDALLIANCE_STORE: table store; rocksdb keeps state on disk across restarts"
    )
    data_dir: Path = Field(
        Path(".medalliance"), description="MEDALLIANCE_DATA_DIR: worker data (RocksDB tables), per worker"
    )
    registry_path: Path = Field(
        default_factory=shipped_registry_path,
        description="MEDALLIANCE_REGISTRY_PATH: facility registry YAML (default: the shipped Yangxi one)",
    )
    timezone: str = Field("Asia/Shanghai", description="MEDALLIANCE_TIMEZONE: for 'today' and opening hours")
    retention_days: float = Field(
        7.0, gt=0, le=365, description="MEDALLIANCE_RETENTION_DAYS: dedupe horizon; older events are too_old"
    )
    policy_path: Path = Field(
        SHIPPED_POLICY,
        description="MEDALLIANCE_POLICY_PATH: the policy YAML, every threshold and window (docs/policy.md; "
        "default: the shipped one); `medalliance generate` builds the rules from the same file",
    )
    batch_size: int = Field(2000, ge=1, le=100_000, description="MEDALLIANCE_BATCH_SIZE: events per batch")
    batch_seconds: float = Field(
        0.25, gt=0, le=10, description="MEDALLIANCE_BATCH_SECONDS: longest wait to fill a batch"
    )
    session_timeout_seconds: float = Field(
        10.0, ge=3, le=300, description="MEDALLIANCE_SESSION_TIMEOUT_SECONDS: Kafka group session timeout"
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        "at_least_once",
        description="MEDALLIANCE_PROCESSING_GUARANTEE: at_least_once (the offset guards make effects exactly "
        "once, docs/reliability.md) or Faust's exactly_once (Kafka transactions, not on tansu; not kept)",
    )
    group_instance_id: str | None = Field(
        None,
        min_length=1,
        max_length=249,
        description="MEDALLIANCE_GROUP_INSTANCE_ID: static group membership (KIP-345), unique per worker "
        "(the pod name): a restarted worker keeps its partitions, a removed one holds them a session timeout",
    )
    prometheus_url: str = Field(
        "http://127.0.0.1:9090",
        description="MEDALLIANCE_PROMETHEUS_URL: the Prometheus the wall reads (and `up` starts)",
    )
    wall_host: str = Field("127.0.0.1", description="MEDALLIANCE_WALL_HOST: the wall page's bind address")
    wall_port: Port = Field(8080, description="MEDALLIANCE_WALL_PORT: the wall page's port")
    worker_urls: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:6066"],
        description="MEDALLIANCE_WORKER_URLS: JSON list of worker base URLs the wall merges requests from",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="MEDALLIANCE_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.kafka_sasl_mechanism and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError("kafka_sasl_mechanism needs kafka_sasl_username and kafka_sasl_password")
        return self

    def model_post_init(self, context: object) -> None:
        # Read once: the worker judges every scrape by it. An invalid file is a settings error.
        try:
            self._policy = load_policy(self.policy_path)
        except PolicyError as exc:
            raise ValueError(f"{exc} ({ENV_PREFIX}POLICY_PATH)") from None

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def embedded(self) -> bool:
        return self.broker_url == EMBEDDED

    @property
    def broker_kind(self) -> Literal["kafka", "tansu"]:
        """What the broker is, which decides the workarounds (../shared/BROKER.md quirks). `auto` is
        resolved by whoever starts the embedded broker (`medalliance up` passes its choice on)."""
        if self.broker_is_tansu or (self.embedded and self.embedded_broker == "tansu"):
            return "tansu"
        return "kafka"

    @property
    def tansu(self) -> bool:
        return self.broker_kind == "tansu"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    def topic(self, feed: Feed) -> str:
        return {"beds": self.topic_beds, "visits": self.topic_visits, "requests": self.topic_requests}[feed]

    def bootstrap_servers(self) -> str:
        """host:port list for Kafka clients (the embedded broker's address when embedded)."""
        if self.embedded:
            return f"127.0.0.1:{self.embedded_broker_port}"
        return ",".join(part.removeprefix("kafka://") for part in self.broker_url.split(","))


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning a validation error into one readable line (SettingsError)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if not first["loc"]:  # the model as a whole (the policy file, a combination of fields)
            raise SettingsError(str(first["msg"]).removeprefix("Value error, ")) from None
        field = ".".join(str(part) for part in first["loc"])
        env = ENV_PREFIX + str(first["loc"][0]).upper()
        raise SettingsError(f"invalid setting {field} ({env}): {first['msg']}") from None
