"""Validation of the custom resources (Strimzi, Prometheus Operator) against tests/deploy/crd_schemas/.

    >>> validate_custom_resource(kafka_topic)        # raises jsonschema.ValidationError when broken

kubernetes-validate only warns on kinds it has no schema for, so each custom kind the manifests use
has a JSON Schema here, hand-written from the operator's CRD for the fields this project sets.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Final

import jsonschema

from tests.deploy.manifests import CRD_SCHEMAS

CUSTOM_API_GROUPS: Final = frozenset({"kafka.strimzi.io", "monitoring.coreos.com"})


class UnknownCustomKind(LookupError):
    """A custom resource kind with no schema under tests/deploy/crd_schemas/."""


def schema_name(api_version: str, kind: str) -> str:
    return f"{api_version.replace('/', '_')}_{kind}.json"


@cache
def schema_for(api_version: str, kind: str) -> dict[str, Any]:
    path = CRD_SCHEMAS / schema_name(api_version, kind)
    if not path.exists():
        raise UnknownCustomKind(f"no schema for {api_version} {kind} (expected {path.name})")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def is_custom(document: dict[str, Any]) -> bool:
    return str(document["apiVersion"]).split("/")[0] in CUSTOM_API_GROUPS


def validate_custom_resource(document: dict[str, Any]) -> None:
    schema = schema_for(document["apiVersion"], document["kind"])
    jsonschema.Draft202012Validator(schema).validate(document)
