"""The one command line: `medalliance <command>`.

Each command lives in its own module under `streams.commands` exposing
`register(subparsers)`; the module sets `handler` on its parser. Errors a user can cause
(bad flag, bad setting, unreachable broker) print one line and exit 2; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Final

from schemas.registry import RegistryError
from streams.broker import BrokerError
from streams.settings import SettingsError

# One module per command (streams/commands/<name>.py).
COMMAND_MODULES: Final = (
    "up",
    "worker",
    "simulate",
    "publish",
    "validate",
    "schemas",
    "generate",
    "dashboards",
    "wall",
    "dead_letter",
)


class UsageError(Exception):
    """A user error with a one-line message (exit status 2)."""


USER_ERRORS: Final = (UsageError, SettingsError, RegistryError, BrokerError)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints usage + message; one line is what people read.
        self.exit(2, f"medalliance: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="medalliance", description="County medical alliance monitoring service.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"streams.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"streams.commands.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except USER_ERRORS as exc:
        print(f"medalliance: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Run the module's canonical copy: `python -m` loads this file as __main__ too, and the commands
    # raise streams.cli.UsageError, which __main__.UsageError would not catch.
    from streams.cli import main as canonical_main

    sys.exit(canonical_main())
