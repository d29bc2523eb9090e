"""The wall server: one page at `/`, its JSON at `/api/overview`, refreshed in the background.

    >>> wall = WallServer(settings, prometheus_url=prom.url, worker_urls=[worker_url], port=free_port())
    >>> await wall.start()          # binds, reads the sources once, then refreshes every 2 s
    >>> wall.url
    'http://127.0.0.1:51234/'
    >>> await wall.stop()

or, inside an asyncio program that owns a stop event (as `medalliance up` does):

    >>> await run_wall(settings, prometheus_url=..., worker_urls=[...], stop=stop_event)

The page loads nothing from outside the machine: its own HTML, CSS and JS, and a Content
Security Policy that forbids any other origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from importlib import resources
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web

from streams.broker import BrokerError
from streams.settings import Settings
from streams.wall.overview import REFRESH_SECONDS, OverviewBuilder

logger = logging.getLogger(__name__)

# Same-origin only: a wall must never reach out (no CDN, fonts or analytics).
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def static_dir() -> Path:
    """The directory holding index.html, wall.css and wall.js."""
    return Path(str(resources.files("streams.wall").joinpath("static")))


@web.middleware
async def _security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(static_dir() / "index.html")


async def _overview(request: web.Request) -> web.Response:
    wall = request.app[_OVERVIEW_KEY]
    if wall.latest is None:
        return web.json_response({"error": "the wall has not read its sources yet"}, status=503)
    # The page compares this age with its own promise: an old document means a stuck refresher.
    age = time.time() - wall.latest_at
    response = web.json_response({**wall.latest, "age_seconds": round(age, 3)})
    response.enable_compression()  # ~30 KB of JSON every 2 s per screen; walls may sit on a slow LAN
    return response


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


class WallServer:
    """The wall's aiohttp server and its background refresher."""

    def __init__(
        self,
        settings: Settings,
        *,
        prometheus_url: str | None = None,
        worker_urls: list[str] | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self.settings = settings
        self.host = host or settings.wall_host
        self.port = port if port is not None else settings.wall_port
        self.builder = OverviewBuilder(
            settings,
            prometheus_url=prometheus_url or settings.prometheus_url,
            worker_urls=list(worker_urls) if worker_urls is not None else list(settings.worker_urls),
        )
        self.latest: dict[str, Any] | None = None
        self.latest_at = 0.0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._refresher: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_security_headers])
        app[_OVERVIEW_KEY] = self
        app.router.add_get("/", _index)
        app.router.add_get("/api/overview", _overview)
        app.router.add_get("/health", _health)
        app.router.add_static("/static/", static_dir(), append_version=False)
        return app

    async def start(self) -> WallServer:
        """Bind, read the sources once (so the first page load has numbers), refresh in the background."""
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            await self.stop()
            raise BrokerError(
                f"the wall cannot listen on {self.host}:{self.port} ({exc.strerror}): "
                "choose another --port or MEDALLIANCE_WALL_PORT"
            ) from None
        await self.refresh_once()
        self._refresher = asyncio.create_task(self._refresh_forever(), name="wall-refresher")
        logger.info(
            "wall started url=%s prometheus=%s workers=%d",
            self.url,
            self.builder.prometheus_url,
            len(self.builder.worker_urls),
        )
        return self

    async def refresh_once(self) -> dict[str, Any]:
        assert self._session is not None, "start() first"
        self.latest = await self.builder.refresh(self._session)
        self.latest_at = time.time()
        return self.latest

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh_once()
            except Exception:  # a bug must not freeze the wall silently: log it, the page sees the age
                logger.exception("wall refresh failed")

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        logger.info("wall stopped url=%s", self.url)


_OVERVIEW_KEY: Final = web.AppKey("wall", WallServer)


async def run_wall(
    settings: Settings,
    *,
    prometheus_url: str,
    worker_urls: list[str],
    stop: asyncio.Event,
    host: str | None = None,
    port: int | None = None,
) -> None:
    """Serve the wall until `stop` is set (for `medalliance up` and `medalliance wall`)."""
    wall = WallServer(settings, prometheus_url=prometheus_url, worker_urls=worker_urls, host=host, port=port)
    await wall.start()
    try:
        await stop.wait()
    finally:
        await wall.stop()
