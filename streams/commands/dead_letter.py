"""`medalliance dead-letter show|replay`: what was rejected and why, and re-submitting it after a fix.

    $ medalliance dead-letter show --reason unknown_facility --limit 20
    $ medalliance dead-letter replay --reason unknown_facility --since 2026-11-22T00:00:00+08:00

`show` prints offsets, reasons, the rejection messages and facilities, never an original or its
key (they may hold pseudonyms). `replay` sends the selected originals back to their source topic
with their original key; dedupe on `event_id` makes a second replay harmless.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from datetime import datetime
from typing import Final

from rich.console import Console
from rich.table import Table

from schemas.decode import REJECT_REASONS
from schemas.registry import load_registry
from streams.cli import UsageError
from streams.dead_letter import DeadLetter, read_dead_letters, replay, select
from streams.settings import load_settings

logger = logging.getLogger(__name__)
DEFAULT_LIMIT: Final = 20
_FACILITY_WIDTH: Final = 64


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs an offset, e.g. 2026-11-22T00:00:00+08:00")
    return moment


def printable_facility(letter: DeadLetter) -> str:
    """The facility as sent, made safe for a terminal (control characters out, clipped)."""
    value = letter.facility_id
    if not isinstance(value, str):
        return "unknown"
    clean = "".join(ch if ch.isprintable() else "?" for ch in value)
    return clean[:_FACILITY_WIDTH] or "unknown"


def _chosen(args: argparse.Namespace) -> tuple[list[DeadLetter], int]:
    settings = load_settings()
    registry = load_registry(settings.registry_path)
    letters = read_dead_letters(settings)
    chosen = select(
        letters,
        registry=registry,
        reason=args.reason,
        facility=args.facility,
        since=getattr(args, "since", None),
    )
    return chosen, len(letters)


def show(args: argparse.Namespace) -> int:
    chosen, total = _chosen(args)
    console = Console(highlight=False, soft_wrap=True)
    groups = Counter((letter.reason, printable_facility(letter)) for letter in chosen)
    summary = Table(title=f"Dead letters: {len(chosen)} selected of {total}")
    for column in ("reason", "facility", "count"):
        summary.add_column(column, justify="right" if column == "count" else "left")
    for (reason, facility), count in sorted(groups.items()):
        summary.add_row(reason, facility, str(count))
    console.print(summary)
    shown = chosen[-args.limit :] if args.limit > 0 else []
    if shown:
        detail = Table(title=f"Latest {len(shown)}")
        for column in ("received_at", "reason", "facility", "source", "message"):
            detail.add_column(column, overflow="fold")
        for letter in shown:
            received = letter.received_at.isoformat() if letter.received_at else "?"
            where = f"{letter.topic}[{letter.partition}]@{letter.offset}"
            detail.add_row(received, letter.reason, printable_facility(letter), where, letter.message)
        console.print(detail)
    return 0


def run_replay(args: argparse.Namespace) -> int:
    if args.reason is None and args.facility is None and args.since is None and not args.all:
        raise UsageError("choose what to replay (--reason, --facility, --since) or pass --all")
    chosen, _ = _chosen(args)
    if args.dry_run:
        print(f"would replay {len(chosen)} dead letters")
        return 0
    sent = replay(load_settings(), chosen)
    topics = Counter(letter.topic for letter in chosen)
    where = ", ".join(f"{topic}: {count}" for topic, count in sorted(topics.items())) or "nothing"
    print(f"replayed {sent} dead letters ({where})")
    return 0


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", choices=REJECT_REASONS, help="only this reject reason")
    parser.add_argument("--facility", help="only this facility id (or `unknown`)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("dead-letter", help="list or replay rejected messages")
    actions = parser.add_subparsers(dest="action", required=True)
    show_parser = actions.add_parser("show", help="rejected messages grouped by reason and facility")
    _filters(show_parser)
    show_parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="latest records listed")
    show_parser.set_defaults(handler=show)
    replay_parser = actions.add_parser("replay", help="re-submit selected originals to their topic")
    _filters(replay_parser)
    replay_parser.add_argument("--since", type=_since, help="only records received at or after (ISO 8601)")
    replay_parser.add_argument("--all", action="store_true", help="replay every dead letter")
    replay_parser.add_argument("--dry-run", action="store_true", help="count, send nothing")
    replay_parser.set_defaults(handler=run_replay)
