"""Reading the wall's two sources: Prometheus's HTTP API and the workers' open-request API.

    >>> async with aiohttp.ClientSession() as session:
    ...     vectors = await query_all(session, "http://127.0.0.1:9090", WALL_QUERIES, at=time.time())
    ...     answers = await fetch_workers(session, ["http://127.0.0.1:6066"])

Every failure becomes a `SourceError` whose message is a few words (the banner names the source):
the wall shows it instead of a traceback, and keeps the last good numbers greyed out.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

logger = logging.getLogger(__name__)

# One refresh must finish well inside the page's 5 s update promise.
QUERY_TIMEOUT_SECONDS: Final = 3.0
OPEN_REQUESTS_PATH: Final = "/api/requests/open"

Sample = dict[str, Any]  # {"metric": {label: value}, "value": [ts, "number"]}


class SourceError(RuntimeError):
    """A source (Prometheus, a worker) did not answer usefully; the message is one line."""


@dataclass(frozen=True, slots=True)
class WorkerAnswer:
    """One worker's open requests, or why it could not be read."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)  # the five centers' open cases
    partitions: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _timeout() -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=QUERY_TIMEOUT_SECONDS)


def _reason(exc: BaseException) -> str:
    """A few words for a banner, not an exception dump."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection refused" if isinstance(exc.os_error, ConnectionRefusedError) else "cannot connect"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"no answer within {QUERY_TIMEOUT_SECONDS:g} s"
    if isinstance(exc, ValueError):
        return "answer is not JSON"
    return type(exc).__name__


async def _get_json(session: aiohttp.ClientSession, url: str, params: dict[str, str] | None = None) -> Any:
    try:
        async with session.get(url, params=params, timeout=_timeout()) as response:
            if response.status >= 500 or response.status in (404, 405):
                raise SourceError(f"HTTP {response.status}")
            return await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise SourceError(_reason(exc)) from None


async def query(session: aiohttp.ClientSession, base_url: str, expr: str, *, at: float) -> list[Sample]:
    """One instant query at `at` (unix seconds); raise SourceError on any failure."""
    body = await _get_json(
        session, f"{base_url.rstrip('/')}/api/v1/query", {"query": expr, "time": f"{at:.3f}"}
    )
    if not isinstance(body, dict) or body.get("status") != "success":
        detail = body.get("error", "bad answer") if isinstance(body, dict) else "bad answer"
        logger.warning("prometheus query failed expr=%r error=%s", expr, detail)
        raise SourceError(f"query rejected: {str(detail)[:120]}")
    if body["data"]["resultType"] != "vector":
        raise SourceError(f"Prometheus returned {body['data']['resultType']} for an instant vector query")
    result: list[Sample] = body["data"]["result"]
    return result


async def query_all(
    session: aiohttp.ClientSession, base_url: str, queries: dict[str, str], *, at: float
) -> dict[str, list[Sample]]:
    """All `queries` at one evaluation time, in parallel; the first failure raises SourceError."""
    names = list(queries)
    results = await asyncio.gather(*(query(session, base_url, queries[name], at=at) for name in names))
    return dict(zip(names, results, strict=True))


async def fetch_worker(session: aiohttp.ClientSession, url: str) -> WorkerAnswer:
    """GET <worker>/api/requests/open; a failure is returned (not raised) so others still count."""
    try:
        body = await _get_json(session, url.rstrip("/") + OPEN_REQUESTS_PATH)
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise SourceError(f"{OPEN_REQUESTS_PATH} is not the open-request JSON")
    except SourceError as exc:
        logger.debug("worker unreadable url=%s error=%s", url, exc)
        return WorkerAnswer(url=url, error=str(exc))
    partitions = [int(p) for p in body.get("partitions", [])]
    cases = body.get("cases")
    return WorkerAnswer(
        url=url,
        requests=list(body["requests"]),
        cases=list(cases) if isinstance(cases, list) else [],
        partitions=partitions,
    )


async def fetch_workers(session: aiohttp.ClientSession, urls: list[str]) -> list[WorkerAnswer]:
    """Every configured worker, in parallel, in the order configured."""
    return list(await asyncio.gather(*(fetch_worker(session, url) for url in urls)))


def scalar(samples: list[Sample]) -> float | None:
    """The value of a one-sample (label-less) vector, or None when empty (no data)."""
    return float(samples[0]["value"][1]) if samples else None


def by_label(samples: list[Sample], label: str) -> dict[str, float]:
    """{label value: sample value} of a vector grouped by one label."""
    return {sample["metric"].get(label, ""): float(sample["value"][1]) for sample in samples}
