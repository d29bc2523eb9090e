"""`medalliance generate [--check]`: write every generated artifact, or fail if any drifted.

Generators are functions returning {path relative to the project root: content}; one place
lists them so CI regenerates exactly what is committed.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Final

import schemas

# "module:function" returning dict[Path, str].
GENERATORS: Final = (
    "schemas.jsonschema:generated_files",  # JSON Schema for integrators
    "streams.config_doc:generated_files",  # the configuration table
    "dashboards.alerts:generated_files",  # Prometheus rules, Grafana alert rules, Alertmanager config
    "dashboards.boards:generated_files",  # Grafana dashboards and provisioning
    "dashboards.k8s:generated_files",  # k8s ConfigMaps / PrometheusRule carrying the above
)
GeneratedFiles = dict[Path, str]


def project_root() -> Path:
    return Path(schemas.__file__).resolve().parent.parent


def collect() -> GeneratedFiles:
    files: GeneratedFiles = {}
    for spec in GENERATORS:
        module_name, function_name = spec.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        generator: Callable[[], GeneratedFiles] = getattr(module, function_name)
        files.update(generator())
    return files


def drifted(files: GeneratedFiles, root: Path) -> list[Path]:
    return sorted(
        path
        for path, content in files.items()
        if not (root / path).exists() or (root / path).read_text(encoding="utf-8") != content
    )


def run(args: argparse.Namespace) -> int:
    root = project_root()
    files = collect()
    if args.check:
        stale = drifted(files, root)
        for path in stale:
            print(f"generated file out of date: {path} (run `make generate`)")
        return 1 if stale else 0
    for path, content in sorted(files.items()):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    print(f"wrote {len(files)} generated files under {root}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("generate", help="write JSON Schema, dashboards, rules and configs")
    parser.add_argument("--check", action="store_true", help="fail if a committed file differs")
    parser.set_defaults(handler=run)
