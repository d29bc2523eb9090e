"""Order for the alert checks: a check of what the promtool runs executed runs after them."""

from __future__ import annotations

import pytest

from tests.dashboards.alert_series import DESELECTED


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_promtool: runs after every promtool unit test of the session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The ledger of fired alerts is filled by the promtool tests (tests/dashboards/alert_series.py).
    later = [item for item in items if item.get_closest_marker("after_promtool")]
    items[:] = [item for item in items if not item.get_closest_marker("after_promtool")] + later


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        stash = items[0].config.stash
        stash[DESELECTED] = [*stash.get(DESELECTED, []), *items]
