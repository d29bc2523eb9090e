"""Headless Chromium driven over the DevTools protocol (a websocket from aiohttp), for the wall tests.

    >>> async with Chromium(tmp_path) as chromium:
    ...     page = await chromium.new_page(1920, 1080)
    ...     await page.navigate("http://127.0.0.1:8080/")
    ...     await page.evaluate("document.title")
    ...     page.errors, page.request_urls

Every console error, uncaught exception, log error (CSP violations, failed loads) and network
request of the page is recorded, so a test can assert there were none and that nothing left
loopback.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import aiohttp

from streams.process import ManagedProcess, ProcessError

CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",  # Chromium picks a free loopback port and writes it to DevToolsActivePort
)
_START_TIMEOUT: Final = 20.0


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One tab, attached with a flat session over the browser's websocket."""

    def __init__(self, browser: Chromium, session_id: str) -> None:
        self.browser = browser
        self.session_id = session_id
        self.errors: list[str] = []
        self.request_urls: list[str] = []
        self.encoded_bytes = 0

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.browser.send(method, params, session_id=self.session_id)

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(
                str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])
            )
            self.errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append(
                f"exception: {details.get('exception', {}).get('description', details.get('text'))}"
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log {entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            self.request_urls.append(params["request"]["url"])
        elif method == "Network.loadingFinished":
            self.encoded_bytes += int(params.get("encodedDataLength", 0))

    async def navigate(self, url: str, timeout: float = 20.0) -> None:
        loaded = self.browser.expect("Page.loadEventFired", self.session_id)
        await self.send("Page.navigate", {"url": url})
        await asyncio.wait_for(loaded, timeout)

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(f"page script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_for(self, expression: str, timeout: float, interval: float = 0.25) -> Any:
        """Evaluate until the value is truthy; return it (raise TimeoutError with the last value)."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(interval)
        raise TimeoutError(f"{expression!r} still {value!r} after {timeout} s")

    async def resize(self, width: int, height: int) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    async def screenshot(self, path: Path) -> Path:
        reply = await self.send("Page.captureScreenshot", {"format": "png"})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(reply["data"]))
        return path


class ChromiumProcess(ManagedProcess):
    """Headless Chromium with a profile in its work dir; ready once it has written its DevTools port."""

    name = "chromium"
    start_timeout = _START_TIMEOUT

    @property
    def profile(self) -> Path:
        return self.workdir / "chromium-profile"

    @property
    def marker(self) -> Path:
        return self.profile / "DevToolsActivePort"

    def prepare(self) -> None:
        if chromium_binary() is None:
            raise ProcessError(
                "chromium is not installed: run `make test`'s set-up (Debian package chromium)"
            )
        self.profile.mkdir(parents=True, exist_ok=True)
        self.marker.unlink(missing_ok=True)  # a reused profile's old port

    def command(self) -> list[str]:
        return [str(chromium_binary()), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"]

    def ready(self) -> bool:
        lines = self.marker.read_text().split("\n") if self.marker.exists() else []
        return len(lines) >= 2 and bool(lines[1])

    def devtools_url(self) -> str:
        port, path = self.marker.read_text().split("\n")[:2]
        return f"ws://127.0.0.1:{port.strip()}{path.strip()}"


class Chromium:
    """A headless Chromium process with a fresh profile, driven over its DevTools socket."""

    def __init__(self, workdir: Path) -> None:
        self._browser = ChromiumProcess(workdir=workdir)
        self.log_path = self._browser.log_path
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = []
        self.pages: dict[str, Page] = {}

    async def __aenter__(self) -> Chromium:
        self._browser.start()  # blocks until the DevTools port is written: a second or two
        try:
            self._session = aiohttp.ClientSession()
            self._ws = await self._session.ws_connect(self._browser.devtools_url(), max_msg_size=0)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
                continue
            method, params, session_id = data.get("method", ""), data.get("params", {}), data.get("sessionId")
            if session_id in self.pages:
                self.pages[session_id].on_event(method, params)
            for waiter in list(self._waiters):
                if waiter[0] == method and waiter[1] in (None, session_id) and not waiter[2].done():
                    waiter[2].set_result(params)
                    self._waiters.remove(waiter)

    def expect(self, method: str, session_id: str | None = None) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((method, session_id, future))
        return future

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, session_id: str | None = None
    ) -> dict[str, Any]:
        assert self._ws is not None
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        await self._ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def new_page(self, width: int, height: int) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        self.pages[page.session_id] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            await page.send(f"{domain}.enable")
        await page.resize(width, height)
        return page

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._session is not None:
            await self._session.close()
        self._browser.stop()
