"""deploy/compose/compose.yaml: valid for Debian's docker-compose, wired to the generated files, and
its one-shot topic command run for real on the suite's broker (no container engine runs here).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaConsumer

from streams.broker import Broker, free_port
from streams.settings import ENV_PREFIX, Settings
from tests.deploy.dockerfile import read_dockerfile
from tests.deploy.manifests import COMPOSE_FILE, DEPLOY, PROJECT_ROOT, settings_env_names, settings_from_env

IMAGE_ENV = read_dockerfile(PROJECT_ROOT / "Dockerfile").final.env
MEDALLIANCE_SERVICES = ("topics", "worker-1", "worker-2", "wall", "simulator")
WORKERS = ("worker-1", "worker-2")


def compose_config(*extra: str) -> dict[str, Any]:
    """`docker-compose config`: Compose's own validation and normalisation (paths made absolute)."""
    assert shutil.which("docker-compose"), "docker-compose is missing: `make setup` installs it"
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), *extra, "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return dict(compose_config("--profile", "simulator")["services"])


def service_env(service: dict[str, Any]) -> dict[str, str]:
    """What a project container sees: the image's ENV, then the compose environment."""
    env = {k: v for k, v in IMAGE_ENV.items() if k.startswith(ENV_PREFIX)}
    env.update({k: str(v) for k, v in (service.get("environment") or {}).items()})
    return env


def settings_of(service: dict[str, Any]) -> Settings:
    return settings_from_env(service_env(service))


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> host path (absolute after `config`) for bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("/"):
            found[target] = source
    return found


def test_the_simulator_is_optional(services: dict[str, Any]) -> None:
    assert services["simulator"]["profiles"] == ["simulator"]
    always = {name for name, service in services.items() if not service.get("profiles")}
    assert always == {"kafka", "topics", *WORKERS, "prometheus", "alertmanager", "grafana", "wall"}


def test_kafka_runs_in_kraft_mode_on_the_official_image(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not [name for name in services if "zookeeper" in name]
    # Topics exist because `topics` made them with the configured partitions, not by accident.
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "healthcheck" in kafka


def test_startup_order(services: dict[str, Any]) -> None:
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for worker in WORKERS:
        assert services[worker]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", MEDALLIANCE_SERVICES)
def test_every_variable_is_a_setting_and_loads(services: dict[str, Any], name: str) -> None:
    env = service_env(services[name])
    assert set(env) <= settings_env_names(), sorted(set(env) - settings_env_names())
    settings = settings_of(services[name])
    assert settings.bootstrap_servers() == "kafka:9092"


@pytest.mark.parametrize("name", MEDALLIANCE_SERVICES)
def test_topics_and_partitions_are_the_code_defaults(services: dict[str, Any], name: str) -> None:
    defaults = settings_from_env({})  # the code defaults, whatever this shell exports
    settings = settings_of(services[name])
    for field in (
        "topic_beds",
        "topic_visits",
        "topic_requests",
        "topic_dead_letter",
        "partitions",
        "app_id",
    ):
        assert getattr(settings, field) == getattr(defaults, field), field


def test_two_workers_each_with_its_own_state_volume(services: dict[str, Any]) -> None:
    volumes = []
    for worker in WORKERS:
        service = services[worker]
        assert service["command"] == ["worker"]
        data_dir = str(settings_of(service).data_dir)
        assert settings_of(service).store == "rocksdb"
        named = [v.split(":")[0] for v in service["volumes"] if v.split(":")[1] == data_dir]
        assert len(named) == 1, f"{worker}: no volume at {data_dir}"
        volumes.append(named[0])
    assert len(set(volumes)) == len(WORKERS), "workers must not share a RocksDB directory"


def test_prometheus_loads_the_generated_rules_and_scrapes_both_workers(services: dict[str, Any]) -> None:
    prometheus = mounts(services["prometheus"])
    config_path = Path(prometheus["/etc/prometheus/prometheus.yml"])
    assert config_path == DEPLOY / "compose" / "prometheus.yml"
    assert Path(prometheus["/etc/prometheus/rules"]) == DEPLOY / "prometheus" / "rules"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    rule_names = {Path(p).name for p in config["rule_files"]}
    assert rule_names == {p.name for p in (DEPLOY / "prometheus" / "rules").glob("*.yml")}
    assert all(p.startswith("/etc/prometheus/rules/") for p in config["rule_files"])
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    expected = {f"{worker}:{settings_of(services[worker]).web_port}" for worker in WORKERS}
    assert targets == expected
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == ["alertmanager:9093"]
    assert "alertmanager" in services


def test_promtool_accepts_the_compose_prometheus_config(tmp_path: Path) -> None:
    # The config names container paths; point them at the repository's rule files to check it whole.
    text = (DEPLOY / "compose" / "prometheus.yml").read_text(encoding="utf-8")
    rules = DEPLOY / "prometheus" / "rules"
    (tmp_path / "prometheus.yml").write_text(
        text.replace("/etc/prometheus/rules", str(rules)), encoding="utf-8"
    )
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_uses_the_generated_config(services: dict[str, Any]) -> None:
    source = Path(mounts(services["alertmanager"])["/etc/alertmanager/alertmanager.yml"])
    assert source == DEPLOY / "alertmanager" / "alertmanager.yml"
    result = subprocess.run(["amtool", "check-config", str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_is_provisioned_but_does_not_page(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    assert Path(mounts(grafana)["/etc/grafana/provisioning"]) == DEPLOY / "grafana" / "provisioning"
    # One evaluator pages: Prometheus -> Alertmanager. Grafana shows its provisioned rules, runs none.
    assert grafana["environment"]["GF_UNIFIED_ALERTING_EXECUTE_ALERTS"] == "false"


def test_grafana_dashboard_provider_path_is_mounted(services: dict[str, Any]) -> None:
    grafana = mounts(services["grafana"])
    providers = sorted((DEPLOY / "grafana" / "provisioning" / "dashboards").glob("*.y*ml"))
    assert providers, (
        "no dashboard provider under deploy/grafana/provisioning/dashboards/ (dashboards.boards)"
    )
    for provider_file in providers:
        for provider in yaml.safe_load(provider_file.read_text(encoding="utf-8"))["providers"]:
            path = provider["options"]["path"]
            mounted = [target for target in grafana if path == target or path.startswith(target + "/")]
            assert mounted, f"{provider_file.name}: {path} is not mounted into the grafana container"
            host = Path(grafana[mounted[0]]) / os.path.relpath(path, mounted[0])
            assert list(host.glob("*.json")), f"no dashboard JSON at {host}"


def test_grafana_datasource_reaches_the_compose_prometheus(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    env = {k: str(v) for k, v in grafana["environment"].items()}
    files = sorted((DEPLOY / "grafana" / "provisioning" / "datasources").glob("*.y*ml"))
    assert files, "no datasource under deploy/grafana/provisioning/datasources/ (dashboards.boards)"
    urls = []
    for path in files:
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]:
            if source["type"] == "prometheus":
                # Grafana expands $VAR and ${VAR} in provisioning files from its environment.
                urls.append(
                    re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), source["url"])
                )
    assert urls and all(url == "http://prometheus:9090" for url in urls), urls


def test_topics_command_creates_the_topics_for_real(services: dict[str, Any], broker: Broker) -> None:
    topics = services["topics"]
    argv = topics["entrypoint"]
    assert argv[0] == "python"
    prefix = f"compose{free_port()}"
    env = {**os.environ, **service_env(topics)}
    env.update(
        {
            "MEDALLIANCE_BROKER_URL": f"kafka://{broker.bootstrap}",
            "MEDALLIANCE_BROKER_IS_TANSU": "true",
            **{
                f"MEDALLIANCE_TOPIC_{feed.upper()}": f"{prefix}.{feed}"
                for feed in ("beds", "visits", "requests")
            },
            "MEDALLIANCE_TOPIC_DEAD_LETTER": f"{prefix}.dead-letter",
        }
    )
    result = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    wanted = int(service_env(topics)["MEDALLIANCE_PARTITIONS"])
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        for name in (f"{prefix}.beds", f"{prefix}.visits", f"{prefix}.requests", f"{prefix}.dead-letter"):
            assert len(consumer.partitions_for_topic(name) or ()) == wanted, name
    finally:
        consumer.close()


def test_prometheus_keeps_the_centers_thirty_days_and_more(services: dict[str, Any]) -> None:
    # docs/centers.md: compliance over 30 days needs at least 35 days of samples.
    flags = [
        arg for arg in services["prometheus"]["command"] if arg.startswith("--storage.tsdb.retention.time=")
    ]
    assert len(flags) == 1
    value = flags[0].split("=", 1)[1].split()[0]
    assert value.endswith("d") and int(value[:-1]) >= 35
