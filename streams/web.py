"""The worker's web endpoints on its Faust web server: /metrics, /api/requests/open (with the five
centers' open cases and the open two-way referrals), /health.

/api/requests/open: `generated_at`, `partitions` (owned), `requests`, `cases` and `referrals` (the
open, not ended, referrals: the fields of streams.domain.readout's docstring, never a referral_id),
each list oldest first.

$ curl -s http://127.0.0.1:6066/metrics | grep medalliance_beds_occupied
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust
from faust.web import Request, Response, View

from streams.domain.readout import open_cases, open_referrals, open_requests
from streams.metrics.collector import StateCollector

_EXPOSITION_TYPE = "text/plain"


def install_web(app: faust.App, collector: StateCollector) -> None:
    """Register the views."""

    @app.page("/metrics")
    async def metrics(web: View, request: Request) -> Response:
        # aiohttp refuses a charset inside content_type; the text format is Prometheus's default.
        return web.bytes(collector.exposition(), content_type=_EXPOSITION_TYPE)

    @app.page("/api/requests/open")
    async def requests_open(web: View, request: Request) -> Response:
        return web.json(open_requests_payload(collector))

    @app.page("/health")
    async def health(web: View, request: Request) -> Response:
        owned = {feed: collector.owned_partitions(feed) for feed in collector.pipeline.topics}
        ready = not app.rebalancing and not getattr(app, "in_recovery", False)
        return web.json({"status": "ok" if ready else "starting", "partitions": owned})


def open_requests_payload(collector: StateCollector) -> dict[str, Any]:
    now = datetime.now(UTC)
    readout = collector.readout(now)
    owned = collector.owned_partitions("requests")
    board: list[dict[str, Any]] = []
    centers: list[dict[str, Any]] = []  # the five centers' cases ride on the requests feed
    flows: list[dict[str, Any]] = []  # and so do referrals
    for partition, items in collector.partition_items("requests", owned).items():
        board.extend(open_requests(items, readout, partition=partition))
        centers.extend(open_cases(items, readout, partition=partition))
        flows.extend(open_referrals(items, readout, partition=partition))
    board.sort(key=lambda entry: entry["submitted_at"])
    centers.sort(key=lambda entry: entry["opened_at"])
    flows.sort(key=lambda entry: entry["requested_at"])
    return {
        "generated_at": now.isoformat().replace("+00:00", "Z"),
        "partitions": owned,
        "requests": board,
        "cases": centers,
        "referrals": flows,
    }
