"""docs/configuration.md, generated from the Settings class so the table cannot drift.

>>> generated_files()[Path("docs/configuration.md")]
"""

from __future__ import annotations

import json
from pathlib import Path

from streams.settings import ENV_PREFIX, Settings


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    if name == "registry_path":
        return "the shipped `schemas/yangxi.yaml`"
    if name == "policy_path":
        return "the shipped `schemas/policy.yaml`"
    if isinstance(value, dict | list):
        return f"`{json.dumps(value, ensure_ascii=False)}`"
    return "—" if value is None else f"`{value}`"


def configuration_markdown() -> str:
    lines = [
        "# Configuration",
        "",
        "Generated from `streams/settings.py` by `medalliance generate`; do not edit by hand.",
        "Every setting is an environment variable; a bad value stops the program with one line naming it.",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        description = (field.description or "").split(":", 1)
        meaning = description[1].strip() if len(description) == 2 else ""
        lines.append(f"| `{ENV_PREFIX}{name.upper()}` | {_default(name)} | {meaning} |")
    return "\n".join(lines) + "\n"


def generated_files() -> dict[Path, str]:
    return {Path("docs/configuration.md"): configuration_markdown()}
