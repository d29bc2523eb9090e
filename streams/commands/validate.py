"""`medalliance validate FILE.ndjson [--feed FEED] [--now ISO]`: check a file of events before going live.

Every bad line is printed with its number, reason code and message, then a summary; the exit
status is 1 if any line is bad. Duplicated event_ids within the file are warnings only (the
service ignores the later copies). Each line is checked exactly as the service checks a
message: against the registry, the clock and the retention of the settings.

    $ medalliance validate today.ndjson
    line 17: unknown_ward: ward_id 'icu-2' is not a ward of yx-ch-people
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import orjson

from schemas.decode import Rejection, decode
from schemas.events import FEEDS, TYPE_FEED, Envelope, Feed
from schemas.registry import load_registry
from streams.settings import Settings, load_settings

# A line whose type names no feed is decoded as if it came on this one: decode rejects it
# (invalid_json / schema_violation / unknown_type) before the feed matters.
_FALLBACK_FEED: Final[Feed] = "beds"


@dataclass(frozen=True, slots=True)
class CheckedLine:
    number: int
    raw: bytes
    feed: Feed
    outcome: Envelope | Rejection
    first_seen_line: int | None = None  # set when the event_id already appeared earlier in the file

    @property
    def ok(self) -> bool:
        return not isinstance(self.outcome, Rejection)


def feed_of_line(raw: bytes) -> Feed:
    """The feed a line belongs to: that of its type; a heartbeat's is its `feed` field."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _FALLBACK_FEED
    if not isinstance(data, dict):
        return _FALLBACK_FEED
    kind = data.get("type")
    if kind == "heartbeat":
        feed = data.get("feed")
        return feed if feed in FEEDS else _FALLBACK_FEED
    return TYPE_FEED.get(kind, _FALLBACK_FEED) if isinstance(kind, str) else _FALLBACK_FEED


def check_lines(
    lines: Iterable[bytes], settings: Settings, *, now: datetime, feed: Feed | None = None
) -> Iterator[CheckedLine]:
    """Decode each non-blank line as the service would; `feed` forces every line onto one topic."""
    registry = load_registry(settings.registry_path)
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        line_feed = feed or feed_of_line(raw)
        outcome = decode(raw, line_feed, registry=registry, now=now, retention=settings.retention)
        first = None
        if not isinstance(outcome, Rejection):
            first = seen.setdefault(f"{line_feed}:{outcome.event_id}", number)
        yield CheckedLine(number, raw, line_feed, outcome, first if first != number else None)


def describe(line: CheckedLine) -> str:
    assert isinstance(line.outcome, Rejection)
    return f"line {line.number}: {line.outcome.reason}: {line.outcome.message}"


def parse_now(text: str | None) -> datetime:
    from streams.cli import UsageError

    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise UsageError(f"--now {text!r} needs an offset, e.g. 2026-11-22T08:00:00+08:00")
    return moment


def open_lines(path: Path) -> Iterator[bytes]:
    from streams.cli import UsageError

    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        yield from handle


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    now = parse_now(args.now)
    good = bad = warnings = 0
    for line in check_lines(open_lines(args.file), settings, now=now, feed=args.feed):
        if not line.ok:
            bad += 1
            print(describe(line))
        elif line.first_seen_line is not None:
            warnings += 1
            print(
                f"line {line.number}: warning: duplicate event_id of line {line.first_seen_line} "
                "(ignored by the service)"
            )
        else:
            good += 1
    print(
        f"{args.file}: {good + bad + warnings} events, {good} valid, {bad} bad, {warnings} duplicate warnings"
    )
    return 1 if bad else 0


def add_line_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="newline-delimited JSON, one event per line")
    feeds = parser.add_mutually_exclusive_group()
    feeds.add_argument(
        "--feed-from-type",
        dest="feed",
        action="store_const",
        const=None,
        help="each line's feed is that of its type (heartbeat: its feed field); the default",
    )
    feeds.add_argument(
        "--feed",
        choices=FEEDS,
        default=None,
        help="treat every line as received on this feed's topic (types of other feeds are unknown_type)",
    )
    parser.add_argument(
        "--now", help="the service clock to check against (ISO 8601 with offset; default: now)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("validate", help="check a file of events against the contract")
    add_line_options(parser)
    parser.set_defaults(handler=run)
