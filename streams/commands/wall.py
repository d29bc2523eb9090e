"""`medalliance wall`: serve the wall page (reads Prometheus and the workers' request API).

    $ medalliance wall --prometheus-url http://127.0.0.1:9090 \\
          --worker-url http://127.0.0.1:6066 --worker-url http://127.0.0.1:6067
    wall: http://127.0.0.1:8080/

Defaults come from MEDALLIANCE_PROMETHEUS_URL, MEDALLIANCE_WORKER_URLS, MEDALLIANCE_WALL_HOST
and MEDALLIANCE_WALL_PORT. Stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from urllib.parse import urlsplit

from streams.cli import UsageError, configure_logging
from streams.settings import Settings, load_settings
from streams.wall.server import WallServer


def _check_url(url: str, flag: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{flag} {url!r} is not an http(s) URL such as http://127.0.0.1:9090")
    return url.rstrip("/")


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if args.prometheus_url:
        overrides["prometheus_url"] = _check_url(args.prometheus_url, "--prometheus-url")
    if args.worker_url:
        overrides["worker_urls"] = [_check_url(url, "--worker-url") for url in args.worker_url]
    if args.host:
        overrides["wall_host"] = args.host
    if args.port is not None:
        overrides["wall_port"] = args.port
    return load_settings(**overrides)


async def serve(settings: Settings) -> None:
    """Run the wall until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    wall = WallServer(settings)
    await wall.start()
    print(
        f"wall: {wall.url}  (Prometheus {settings.prometheus_url}; workers {', '.join(settings.worker_urls)})"
    )
    try:
        await stop.wait()
    finally:
        await wall.stop()


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    configure_logging("DEBUG" if args.verbose else settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("wall", help="serve the wall page (county at a glance) from Prometheus")
    parser.add_argument("--prometheus-url", help="Prometheus base URL (default MEDALLIANCE_PROMETHEUS_URL)")
    parser.add_argument(
        "--worker-url",
        action="append",
        help="a worker's base URL for the request board; repeat per worker (default MEDALLIANCE_WORKER_URLS)",
    )
    parser.add_argument("--host", help="bind address (default MEDALLIANCE_WALL_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default MEDALLIANCE_WALL_PORT or 8080)")
    parser.set_defaults(handler=run)
