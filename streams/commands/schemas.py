"""`medalliance schemas export DIR`: write the JSON Schema files for integrators.

$ medalliance schemas export ./schema-out
wrote 21 JSON Schema files to schema-out
"""

from __future__ import annotations

import argparse
from pathlib import Path

from schemas.jsonschema import generated_files


def export(args: argparse.Namespace) -> int:
    from streams.cli import UsageError

    target: Path = args.dir
    files = generated_files()
    try:
        target.mkdir(parents=True, exist_ok=True)
        for path, content in sorted(files.items()):
            (target / path.name).write_text(content, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write to {target}: {exc.strerror or exc}") from None
    print(f"wrote {len(files)} JSON Schema files to {target}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("schemas", help="JSON Schema of the event contract")
    actions = parser.add_subparsers(dest="schemas_command", required=True)
    exporter = actions.add_parser("export", help="write one schema per event type, per feed, and combined")
    exporter.add_argument("dir", type=Path, help="directory to write into (created if missing)")
    exporter.set_defaults(handler=export)
