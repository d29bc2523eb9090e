"""Fixtures of the deployment checks (helpers live in tests/deploy/manifests.py)."""

from __future__ import annotations

import pytest

from tests.deploy.manifests import Manifest, render_overlays


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """Both kustomize overlays, rendered for real once per session."""
    return render_overlays()
