"""Security settings: TLS and SASL (PLAIN, SCRAM) reach Faust (aiokafka) and the publisher/admin
clients (kafka-python) as configured; secrets stay SecretStr and never reach a repr, an error
message or a log line; the worker's web server binds where settings say (loopback by default)."""

from __future__ import annotations

import logging
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from streams.app import broker_credentials, create_app
from streams.broker import kafka_client_options
from streams.settings import Settings, SettingsError, load_settings

SECRET = "s3cret-Pa55word"


@pytest.fixture(scope="module")
def pem_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A self-signed certificate and key (the CA, and the client's own cert, for the test)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return {"kafka_ssl_cafile": cert, "kafka_ssl_certfile": cert, "kafka_ssl_keyfile": key}


def _settings(**values: Any) -> Settings:
    return load_settings(broker_url="kafka://kafka-0:9093", **values)


def test_plaintext_is_the_default_and_passes_no_credentials() -> None:
    settings = _settings()
    assert broker_credentials(settings) is None
    assert credentials_to_aiokafka_auth(broker_credentials(settings)) == {"security_protocol": "PLAINTEXT"}
    assert kafka_client_options(settings) == {"security_protocol": "PLAINTEXT"}


def test_tls_gives_faust_a_verifying_context_and_clients_the_pem_files(pem_files: dict[str, Path]) -> None:
    settings = _settings(kafka_security_protocol="SSL", **pem_files)
    credentials = broker_credentials(settings)
    assert isinstance(credentials, SSLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SSL"
    context: ssl.SSLContext = auth["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs()  # the configured CA was loaded
    options = kafka_client_options(settings)
    assert options == {
        "security_protocol": "SSL",
        "ssl_cafile": str(pem_files["kafka_ssl_cafile"]),
        "ssl_certfile": str(pem_files["kafka_ssl_certfile"]),
        "ssl_keyfile": str(pem_files["kafka_ssl_keyfile"]),
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_over_plaintext_maps_mechanism_user_and_password(mechanism: str) -> None:
    settings = _settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="medalliance",
        kafka_sasl_password=SECRET,
    )
    auth = credentials_to_aiokafka_auth(broker_credentials(settings))
    assert auth == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "medalliance",
        "sasl_plain_password": SECRET,
        "ssl_context": None,
    }
    assert kafka_client_options(settings) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "medalliance",
        "sasl_plain_password": SECRET,
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_sasl_over_tls_has_both(mechanism: str, pem_files: dict[str, Path]) -> None:
    settings = _settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="medalliance",
        kafka_sasl_password=SECRET,
        kafka_ssl_cafile=pem_files["kafka_ssl_cafile"],
    )
    credentials = broker_credentials(settings)
    assert isinstance(credentials, SASLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_SSL" and auth["sasl_mechanism"] == mechanism
    assert isinstance(auth["ssl_context"], ssl.SSLContext)
    options = kafka_client_options(settings)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == mechanism
    assert options["ssl_cafile"] == str(pem_files["kafka_ssl_cafile"]) and options["ssl_certfile"] is None


def test_sasl_without_a_password_is_one_clear_line() -> None:
    with pytest.raises(SettingsError) as error:
        _settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="PLAIN", kafka_sasl_username="u")
    assert "\n" not in str(error.value) and "kafka_sasl_password" in str(error.value)


def test_the_password_never_shows_in_reprs_dumps_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    values = {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "SCRAM-SHA-256",
              "kafka_sasl_username": "medalliance", "kafka_sasl_password": SECRET}  # fmt: skip
    settings = _settings(**values)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    assert SECRET not in str(settings.model_dump()) and SECRET not in settings.model_dump_json()
    assert SECRET not in repr(broker_credentials(settings))
    with pytest.raises(SettingsError) as error:
        _settings(**values, partitions=0)
    assert SECRET not in str(error.value)
    app = create_app(settings)
    assert app.conf.broker_credentials is not None
    assert SECRET not in caplog.text


def test_the_worker_web_server_binds_loopback_by_default_and_as_configured() -> None:
    assert load_settings().web_host == "127.0.0.1"
    assert create_app(_settings()).conf.web_bind == "127.0.0.1"
    assert create_app(_settings(web_host="10.1.2.3")).conf.web_bind == "10.1.2.3"
