"""The Strimzi and Prometheus Operator resources against the schemas of the fields they use."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from tests.deploy.crd import UnknownCustomKind, is_custom, validate_custom_resource
from tests.deploy.manifests import OVERLAYS, Manifest, one

Breakage = Callable[[dict[str, Any]], None]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_custom_resource_matches_its_schema(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    custom = [doc for doc in rendered[overlay] if is_custom(doc)]
    assert {doc["kind"] for doc in custom} == {
        "Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "ServiceMonitor", "PrometheusRule"
    }  # fmt: skip
    for doc in custom:
        validate_custom_resource(doc)


def _set(path: str, value: object) -> Breakage:
    def breakage(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return breakage


def _drop_label(doc: dict[str, Any]) -> None:
    del doc["metadata"]["labels"]["strimzi.io/cluster"]


BROKEN: list[tuple[str, str, Breakage]] = [
    ("KafkaTopic", "partitions as a word", _set("spec.partitions", "eight")),
    ("KafkaTopic", "no partitions at all", _set("spec.partitions", 0)),
    ("KafkaTopic", "not tied to a cluster", _drop_label),
    ("KafkaTopic", "old API version", _set("apiVersion", "kafka.strimzi.io/v1beta2")),
    ("KafkaNodePool", "unknown role", _set("spec.roles", ["worker"])),
    ("KafkaNodePool", "misspelt field", _set("spec.replica", 3)),
    ("Kafka", "listener name too long", _set("spec.kafka.listeners.0.name", "tls-with-a-long-name")),
    ("Kafka", "ZooKeeper section (gone in v1)", _set("spec.zookeeper", {"replicas": 3})),
    (
        "KafkaUser",
        "singular ACL operation (removed in v1)",
        _set("spec.authorization.acls.0.operation", "Read"),
    ),
    ("ServiceMonitor", "bad interval", _set("spec.endpoints.0.interval", "15 seconds")),
    ("ServiceMonitor", "no selector", _set("spec", {"endpoints": [{"port": "http"}]})),
    ("PrometheusRule", "rule with record and alert", _set("spec.groups.0.rules.0.record", "x:y")),
    ("PrometheusRule", "bad for duration", _set("spec.groups.0.rules.0.for", "ten minutes")),
]


@pytest.mark.parametrize(("kind", "why", "breakage"), BROKEN, ids=[f"{k}-{w}" for k, w, _ in BROKEN])
def test_a_broken_custom_resource_fails(
    rendered: dict[str, list[Manifest]], kind: str, why: str, breakage: Breakage
) -> None:
    doc = copy.deepcopy(next(d for d in rendered["prod"] if d["kind"] == kind))
    validate_custom_resource(doc)  # the unbroken one passes ...
    breakage(doc)
    with pytest.raises((jsonschema.ValidationError, UnknownCustomKind)):  # ... and the broken one does not
        validate_custom_resource(doc)


def test_an_unknown_custom_kind_fails_rather_than_passing_silently(
    rendered: dict[str, list[Manifest]],
) -> None:
    doc = copy.deepcopy(one(rendered["prod"], "KafkaUser"))
    doc["kind"] = "KafkaBridge"
    with pytest.raises(UnknownCustomKind):
        validate_custom_resource(doc)


def test_the_prometheus_rule_has_alerts_to_break(rendered: dict[str, list[Manifest]]) -> None:
    # The PrometheusRule breakages above need a first rule that is an alert.
    rule = one(rendered["prod"], "PrometheusRule")["spec"]["groups"][0]["rules"][0]
    assert "alert" in rule
