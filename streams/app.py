"""The Faust app factory: one app per worker process, configured from Settings only.

    >>> app = create_app(load_settings())
    >>> faust.Worker(app).execute_from_commandline()

Broker quirks (../shared/BROKER.md) are handled here and only for tansu (the embedded broker or
MEDALLIANCE_BROKER_IS_TANSU): tansu's ListOffsets(LATEST) is wrong for multi-record batches, which
would break changelog recovery; `streams.tansu.TansuApp` reads the high water from Fetch instead,
so changelog records stay batched (BROKER.md's `producer_max_batch_size=1` workaround cost a
produce round trip per record, the largest item in the worker's profile).

On every broker the app is a `streams.resume.GuardedApp`: a source partition resumes where its
table state does, not at a committed offset the state may lack messages for.
"""

from __future__ import annotations

import ssl
from typing import Any

import faust

from streams.codec import register_codec
from streams.resume import GuardedApp
from streams.settings import Settings
from streams.tansu import TansuApp

# Kafka's group joins on tansu take about half the session timeout (BROKER.md quirk 3): a short
# session keeps start-up and failover in seconds; the heartbeat must stay well under it.
_HEARTBEAT_FRACTION = 0.25


def create_app(settings: Settings) -> faust.App:
    register_codec()
    options: dict[str, Any] = {
        "broker": f"kafka://{settings.bootstrap_servers()}",
        "store": "rocksdb://" if settings.store == "rocksdb" else "memory://",
        "datadir": str(settings.data_dir),
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "broker_session_timeout": settings.session_timeout_seconds,
        "broker_heartbeat_interval": settings.session_timeout_seconds * _HEARTBEAT_FRACTION,
        "broker_rebalance_timeout": max(30.0, settings.session_timeout_seconds * 3),
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": True,
        "web_bind": settings.web_host,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "autodiscover": False,
        # The offset guards make effects exactly once without transactions, which tansu lacks (quirk 4).
        "processing_guarantee": settings.processing_guarantee,
    }
    if settings.group_instance_id is not None:
        # KIP-345: the broker hands a member that rejoins under the same id its partitions back at
        # once; aiokafka then sends no LeaveGroup on shutdown, so a removed member's partitions
        # wait out its session (docs/scaling.md).
        options["consumer_group_instance_id"] = settings.group_instance_id
    credentials = broker_credentials(settings)
    if credentials is not None:
        options["broker_credentials"] = credentials
    app_class = TansuApp if settings.tansu else GuardedApp
    return app_class(settings.app_id, **options)


def broker_credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """Faust credentials for TLS and/or SASL (PLAIN, SCRAM) from the settings."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings) if protocol in ("SSL", "SASL_SSL") else None
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    assert settings.kafka_sasl_mechanism and settings.kafka_sasl_username and settings.kafka_sasl_password
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        mechanism=settings.kafka_sasl_mechanism,
    )


def ssl_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    )
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(
            str(settings.kafka_ssl_certfile),
            str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
        )
    return context
