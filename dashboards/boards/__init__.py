"""The wall's Grafana dashboards as code (grafana-foundation-sdk, built for Grafana 11.6).

    >>> files = generated_files(shipped_policy())
    >>> sorted(str(path) for path in files)[0]
    'dashboards/generated/medalliance-alliance-overview.json'

Five dashboards, each with a uid derived from its English name (never random) and panel ids numbered
in layout order, written as sorted-key JSON by `medalliance generate`, plus the Grafana provisioning
files that load them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards.boards import facility, overview, pipeline, referrals, requests
from dashboards.boards.layout import DATASOURCE_UID, board_uid
from dashboards.boards.provisioning import provisioning_files
from schemas.policy import Policy

GENERATED: Final = Path("dashboards/generated")
OVERVIEW_UID: Final = board_uid(overview.NAME.en)
FACILITY_UID: Final = board_uid(facility.NAME.en)
REQUESTS_UID: Final = board_uid(requests.NAME.en)
PIPELINE_UID: Final = board_uid(pipeline.NAME.en)
REFERRALS_UID: Final = board_uid(referrals.NAME.en)

__all__ = [
    "DATASOURCE_UID",
    "FACILITY_UID",
    "OVERVIEW_UID",
    "PIPELINE_UID",
    "REFERRALS_UID",
    "REQUESTS_UID",
    "dashboard_models",
    "generated_files",
    "render",
]


def _builders() -> dict[str, Callable[[Policy], Dashboard]]:
    return {
        OVERVIEW_UID: lambda policy: overview.overview(OVERVIEW_UID, FACILITY_UID, policy),
        FACILITY_UID: lambda policy: facility.facility(FACILITY_UID, policy),
        REQUESTS_UID: lambda policy: requests.requests(REQUESTS_UID, policy),
        PIPELINE_UID: lambda policy: pipeline.pipeline(PIPELINE_UID, policy),
        REFERRALS_UID: lambda policy: referrals.referrals(REFERRALS_UID, policy),
    }


def _number_panels(model: dict[str, Any]) -> dict[str, Any]:
    """Panel ids 1..n in layout order (rows' nested panels included): unique and stable."""
    next_id = 1
    for panel in model.get("panels", []):
        for item in (panel, *panel.get("panels", [])):
            item["id"] = next_id
            next_id += 1
    return model


def dashboard_models(policy: Policy) -> dict[str, dict[str, Any]]:
    """uid -> the dashboard JSON model (as Grafana stores it)."""
    models = {}
    for uid, build in _builders().items():
        encoded = JSONEncoder(sort_keys=True).encode(build(policy).build())
        models[uid] = _number_panels(json.loads(encoded))
    return models


def render(model: dict[str, Any]) -> str:
    """Deterministic text: sorted keys, two-space indent, UTF-8 kept readable, trailing newline."""
    return json.dumps(model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def generated_files(policy: Policy) -> dict[Path, str]:
    files = {GENERATED / f"{uid}.json": render(model) for uid, model in dashboard_models(policy).items()}
    files.update(provisioning_files())
    return files
