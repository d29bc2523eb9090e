"""`medalliance worker`: one stream-processing worker against the configured broker.

Run several side by side (distinct MEDALLIANCE_WEB_PORT and MEDALLIANCE_DATA_DIR) to share the
partitions; with MEDALLIANCE_BROKER_URL=embedded it expects `medalliance up`'s broker.
"""

from __future__ import annotations

import argparse
import logging
import signal

from streams.agents import build_pipeline
from streams.app import create_app
from streams.broker import port_is_free
from streams.cli import UsageError
from streams.metrics.collector import StateCollector
from streams.registry_ref import RegistryRef
from streams.settings import Settings, load_settings
from streams.web import install_web

logger = logging.getLogger(__name__)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {
        name: value
        for name, value in (
            ("web_port", args.web_port),
            ("web_host", args.web_host),
            ("data_dir", args.data_dir),
        )
        if value is not None
    }
    return load_settings(**overrides)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not port_is_free(settings.web_host, settings.web_port):
        raise UsageError(
            f"web port {settings.web_host}:{settings.web_port} is already in use: "
            "set MEDALLIANCE_WEB_PORT (or --web-port) to a free port"
        )
    run_worker(settings, verbose=args.verbose)
    return 0


def run_worker(settings: Settings, *, verbose: bool = False) -> None:
    """Build the app and run it until SIGTERM/SIGINT (Faust's worker handles both gracefully)."""
    import faust

    registry = RegistryRef(settings.registry_path)
    app = create_app(settings)
    pipeline = build_pipeline(app, settings, registry)
    install_web(app, StateCollector(pipeline))

    @app.task
    async def reload_registry_on_sighup() -> None:
        import asyncio

        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, registry.reload)

    from streams.broker import ensure_topics

    ensure_topics(settings)  # tansu would auto-create them with 4 partitions otherwise
    worker = faust.Worker(app, loglevel="debug" if verbose else settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("worker", help="run one stream-processing worker")
    parser.add_argument("--web-port", type=int, help="web port (default MEDALLIANCE_WEB_PORT or 6066)")
    parser.add_argument("--web-host", help="web bind address (default 127.0.0.1)")
    parser.add_argument("--data-dir", help="data directory for table stores")
    parser.set_defaults(handler=run)
