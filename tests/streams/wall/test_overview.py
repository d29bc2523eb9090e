"""The overview against a real Prometheus that has no worker to scrape: every number must be
"not current" (grey), never a made-up zero; the banner must name what is down."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from dashboards.alerts import RULES_DIR, TEST, TEST_ROOT, prometheus_config
from streams.broker import free_port
from streams.prometheus import PrometheusProcess
from streams.settings import Settings, load_settings
from streams.wall.overview import OverviewBuilder
from streams.wall.server import CONTENT_SECURITY_POLICY, WallServer, static_dir
from tests.support.stack import PROJECT_ROOT

PROMETHEUS_SECTIONS = (
    "county",
    "facilities",
    "visits_today",
    "ed",
    "request_clocks",
    "escalation",
    "stale_feeds",
)


@pytest.fixture
def dead_worker_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture
def prometheus(tmp_path: Path, dead_worker_url: str) -> Iterator[PrometheusProcess]:
    target = dead_worker_url.removeprefix("http://")
    rules = str(PROJECT_ROOT / TEST_ROOT / "prometheus" / RULES_DIR)
    config = prometheus_config(TEST, workers=[target], alertmanagers=[], rules_dir=rules)
    with PrometheusProcess(config, free_port(), workdir=tmp_path) as running:
        assert running.wait_for("up == 0", timeout=20), "Prometheus should have tried to scrape by now"
        yield running  # type: ignore[misc]


def wall_settings(prometheus: PrometheusProcess, worker_url: str) -> Settings:
    return load_settings(prometheus_url=prometheus.url, worker_urls=[worker_url], partitions=4)


async def refresh(builder: OverviewBuilder) -> dict:
    async with aiohttp.ClientSession() as session:
        return await builder.refresh(session)


def test_no_worker_means_every_section_is_stale_and_empty_not_zero(
    prometheus: PrometheusProcess, dead_worker_url: str
) -> None:
    settings = wall_settings(prometheus, dead_worker_url)
    builder = OverviewBuilder(settings, prometheus_url=prometheus.url, worker_urls=[dead_worker_url])
    overview = asyncio.run(refresh(builder))
    for name in (*PROMETHEUS_SECTIONS, "requests"):
        section = overview["sections"][name]
        assert section["stale"] and section["data"] is None and section["updated_at"] is None, (name, section)
    assert overview["sections"]["county"]["reason"] == "incomplete: beds 0/4 partitions"
    assert overview["sources"]["prometheus"]["ok"] is True
    assert overview["sources"]["workers"] == [
        {"url": dead_worker_url, "ok": False, "error": "connection refused", "last_ok_at": None}
    ]
    # The dead worker is the scrape target too: one banner for one cause.
    assert [b["what"] for b in overview["banners"]] == ["worker"]

    prometheus.stop()
    overview = asyncio.run(refresh(builder))
    assert [b["what"] for b in overview["banners"]] == ["prometheus", "worker"]
    assert overview["sections"]["county"]["reason"] == "Prometheus: connection refused"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", overview["generated_at"])


def test_the_server_serves_the_page_and_its_json_with_a_same_origin_policy(
    prometheus: PrometheusProcess, dead_worker_url: str
) -> None:
    settings = wall_settings(prometheus, dead_worker_url)

    async def scenario() -> None:
        wall = WallServer(settings, port=free_port())
        await wall.start()
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(wall.url) as page:
                    assert page.status == 200
                    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
                    assert "/static/wall.js" in await page.text()
                async with session.get(wall.url + "api/overview") as response:
                    body = await response.json()
                    assert body["age_seconds"] < 5 and "sections" in body
                async with session.get(wall.url + "static/wall.css") as css:
                    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
        finally:
            await wall.stop()

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started < 15


def test_the_page_names_no_other_origin() -> None:
    """No CDN, font or script from outside: the static files reference only their own origin."""
    for path in static_dir().iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(", text, re.IGNORECASE), (
            path.name
        )


def test_a_prometheus_without_our_rules_raises_a_banner(tmp_path: Path, dead_worker_url: str) -> None:
    # Staleness and escalation are recording rules: without them the wall must not read "all live".
    target = dead_worker_url.removeprefix("http://")
    config = prometheus_config(TEST, workers=[target], alertmanagers=[], rules_dir=None)
    with PrometheusProcess(config, free_port(), workdir=tmp_path) as running:
        assert running.wait_for("up == 0", timeout=20)
        builder = OverviewBuilder(
            wall_settings(running, dead_worker_url), prometheus_url=running.url, worker_urls=[dead_worker_url]
        )
        overview = asyncio.run(refresh(builder))
    rules = [b for b in overview["banners"] if b["what"] == "rules"]
    assert len(rules) == 1 and "no medalliance rules" in rules[0]["en"]
    for name in ("escalation", "stale_feeds"):
        assert overview["sections"][name]["stale"], name
        assert "recording rules not loaded" in overview["sections"][name]["reason"], name
