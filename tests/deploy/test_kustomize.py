"""The Kubernetes overlays, rendered for real with kustomize and checked without a cluster.

Built-in kinds go through kubernetes-validate (strict: unknown fields fail); the Strimzi and
Prometheus Operator resources through tests/deploy/crd_schemas/ (test_crd_schemas.py).
"""

from __future__ import annotations

import re

import kubernetes_validate
import pytest

from streams.settings import Settings
from tests.deploy.crd import CUSTOM_API_GROUPS
from tests.deploy.manifests import (
    K8S,
    OVERLAYS,
    Manifest,
    containers,
    of_kind,
    one,
    render,
    settings_env_names,
    settings_from_env,
    worker_env,
)

KUBERNETES_VERSION = "1.37.0"
EXPECTED_KINDS = {
    "ConfigMap",
    "Service",
    "StatefulSet",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "KafkaUser",
    "ServiceMonitor",
    "PrometheusRule",
}
WORKER = "medalliance-worker"


def builtin(documents: list[Manifest]) -> list[Manifest]:
    return [doc for doc in documents if doc["apiVersion"].split("/")[0] not in CUSTOM_API_GROUPS]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_every_kind(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    kinds = {doc["kind"] for doc in rendered[overlay]}
    assert kinds >= EXPECTED_KINDS, f"missing {EXPECTED_KINDS - kinds}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_kinds_pass_strict_schema(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    failures = []
    for doc in builtin(rendered[overlay]):
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_strict_validation_rejects_a_misspelt_field(rendered: dict[str, list[Manifest]]) -> None:
    statefulset = one(rendered["dev"], "StatefulSet", WORKER)
    broken = {**statefulset, "spec": {**statefulset["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_namespaced_resource_lands_in_the_overlay_namespace(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    namespaces = {doc["metadata"].get("namespace") for doc in rendered[overlay]}
    assert namespaces == {"medalliance-dev" if overlay == "dev" else "medalliance"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_environment_variable_is_a_setting(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    known = settings_env_names()
    names = set(worker_env(rendered[overlay]))
    for doc in of_kind(rendered[overlay], "StatefulSet"):
        for container in containers(doc["spec"]["template"]["spec"]):
            names |= {variable["name"] for variable in container.get("env", [])}
    unknown = {name for name in names if name.startswith("MEDALLIANCE_")} - known
    assert not unknown, f"not fields of streams.settings.Settings: {sorted(unknown)}"
    assert names == {name for name in names if name.startswith("MEDALLIANCE_")}, (
        "only MEDALLIANCE_* variables"
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_settings_load_with_the_settings_class(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    # The password comes from a Secret at run time; any value stands in for it here.
    settings = settings_from_env(
        {**worker_env(rendered[overlay]), "MEDALLIANCE_KAFKA_SASL_PASSWORD": "secret"}
    )
    assert settings.store == "rocksdb"
    assert str(settings.data_dir) == "/var/lib/medalliance"
    assert settings.web_host == "0.0.0.0"
    assert settings.kafka_security_protocol == "SASL_SSL"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_only_by_reference(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    documents = rendered[overlay]
    assert not of_kind(documents, "Secret"), "no Secret is written in the manifests"
    container = one(documents, "StatefulSet", WORKER)["spec"]["template"]["spec"]["containers"][0]
    password = next(v for v in container["env"] if v["name"] == "MEDALLIANCE_KAFKA_SASL_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"] == {"name": "medalliance-worker", "key": "password"}
    # The Secret the reference names is the one Strimzi's User Operator writes for the KafkaUser.
    user = one(documents, "KafkaUser", "medalliance-worker")
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    assert worker_env(documents)["MEDALLIANCE_KAFKA_SASL_USERNAME"] == user["metadata"]["name"]
    secret_like = re.compile(r"password|secret|token", re.IGNORECASE)
    literal = [name for name, value in worker_env(documents).items() if secret_like.search(name) and value]
    assert not literal, f"secret-looking settings set inline: {literal}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_state_on_a_volume(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    documents = rendered[overlay]
    statefulset = one(documents, "StatefulSet", WORKER)
    env = worker_env(documents)
    assert env["MEDALLIANCE_STORE"] == "rocksdb"
    mounts = {
        m["name"]: m["mountPath"]
        for m in statefulset["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    claims = {claim["metadata"]["name"] for claim in statefulset["spec"]["volumeClaimTemplates"]}
    assert "data" in claims
    assert mounts["data"] == env["MEDALLIANCE_DATA_DIR"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_restrictive_security_context(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    pod = one(rendered[overlay], "StatefulSet", WORKER)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in containers(pod):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert "add" not in context["capabilities"]
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), "requests for cpu and memory"
        assert "memory" in resources["limits"], "a memory limit"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_ports_point_at_the_worker_web_port(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    documents = rendered[overlay]
    container = one(documents, "StatefulSet", WORKER)["spec"]["template"]["spec"]["containers"][0]
    port = next(p for p in container["ports"] if p["name"] == "http")
    assert port["containerPort"] == int(worker_env(documents)["MEDALLIANCE_WEB_PORT"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_selectors_reach_the_worker_pods(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    documents = rendered[overlay]
    statefulset = one(documents, "StatefulSet", WORKER)
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert matches(statefulset["spec"]["selector"]["matchLabels"], pod_labels)
    assert matches(one(documents, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"], pod_labels)
    assert matches(one(documents, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"], pod_labels)
    for service in of_kind(documents, "Service"):
        assert matches(service["spec"]["selector"], pod_labels), service["metadata"]["name"]
    headless = one(documents, "Service", statefulset["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_monitor_scrapes_one_service_named_after_the_alert_job(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    from schemas.rules import WORKER_JOB

    documents = rendered[overlay]
    monitor = one(documents, "ServiceMonitor")
    selected = [
        s
        for s in of_kind(documents, "Service")
        if matches(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert len(selected) == 1, "exactly one Service scraped (else every worker is scraped twice)"
    # The operator names the job after the Service; the generated alerts expect WORKER_JOB.
    assert "jobLabel" not in monitor["spec"]
    assert selected[0]["metadata"]["name"] == WORKER_JOB
    port_names = {p["name"] for p in selected[0]["spec"]["ports"]}
    assert {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]} <= port_names
    assert all(endpoint["path"] == "/metrics" for endpoint in monitor["spec"]["endpoints"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_allows_kafka_dns_and_scrapes_only(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    documents = rendered[overlay]
    policy = one(documents, "NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    ingress_ports = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert ingress_ports == {int(worker_env(documents)["MEDALLIANCE_WEB_PORT"])}
    egress_ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
    broker_port = int(worker_env(documents)["MEDALLIANCE_BROKER_URL"].rsplit(":", 1)[1])
    assert egress_ports == {broker_port, 53}
    listener_ports = {listener["port"] for listener in one(documents, "Kafka")["spec"]["kafka"]["listeners"]}
    assert broker_port in listener_ports


def topic_specs(documents: list[Manifest]) -> dict[str, Manifest]:
    return {topic["spec"]["topicName"]: topic["spec"] for topic in of_kind(documents, "KafkaTopic")}


def feed_topics(settings: Settings) -> set[str]:
    return {settings.topic_beds, settings.topic_visits, settings.topic_requests, settings.topic_dead_letter}


def test_base_topics_and_partitions_are_the_code_defaults() -> None:
    documents = render(K8S / "base")
    defaults = settings_from_env({})  # the code defaults, whatever this shell exports
    topics = topic_specs(documents)
    assert set(topics) == feed_topics(defaults)
    assert {spec["partitions"] for spec in topics.values()} == {defaults.partitions}
    assert int(worker_env(documents)["MEDALLIANCE_PARTITIONS"]) == defaults.partitions


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_topics_agree_with_the_worker_settings(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    documents = rendered[overlay]
    settings = settings_from_env({**worker_env(documents), "MEDALLIANCE_KAFKA_SASL_PASSWORD": "secret"})
    topics = topic_specs(documents)
    assert set(topics) == feed_topics(settings)
    assert {spec["partitions"] for spec in topics.values()} == {settings.partitions}
    assert {spec["replicas"] for spec in topics.values()} == {settings.replication_factor}
    kafka_config = one(documents, "Kafka")["spec"]["kafka"]["config"]
    assert kafka_config["default.replication.factor"] == settings.replication_factor
    brokers = sum(
        pool["spec"]["replicas"]
        for pool in of_kind(documents, "KafkaNodePool")
        if "broker" in pool["spec"]["roles"]
    )
    # Every replica needs a broker, and a write needs min.insync.replicas of them alive.
    assert brokers >= settings.replication_factor
    assert settings.replication_factor >= kafka_config["min.insync.replicas"]
    assert kafka_config["offsets.topic.replication.factor"] <= brokers
    assert kafka_config["auto.create.topics.enable"] is False
    cluster = one(documents, "Kafka")["metadata"]["name"]
    for resource in [
        *of_kind(documents, "KafkaTopic"),
        *of_kind(documents, "KafkaUser"),
        *of_kind(documents, "KafkaNodePool"),
    ]:
        assert resource["metadata"]["labels"]["strimzi.io/cluster"] == cluster
