"""yamllint over the deployment files (hand-written and generated) with tests/deploy/yamllint.yaml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.deploy.manifests import DEPLOY, PROJECT_ROOT

CONFIG = Path(__file__).resolve().parent / "yamllint.yaml"
LINTED = (DEPLOY / "compose", DEPLOY / "k8s")


def yamllint(*paths: Path) -> subprocess.CompletedProcess[str]:
    # Relative paths: the config's `ignore` entries are relative to the project root.
    relative = [
        str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)
        for path in paths
    ]
    return subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-f", "parsable", "-c", str(CONFIG), *relative],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )


def test_deployment_yaml_is_lint_clean() -> None:
    result = yamllint(*LINTED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_catches_a_duplicate_key(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec:\n  replicas: 2\n  replicas: 3\n", encoding="utf-8")
    result = yamllint(broken)
    assert result.returncode != 0 and "key-duplicates" in result.stdout
