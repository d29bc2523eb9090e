"""Deterministic YAML: keys in the order given, Chinese kept readable, multi-line text as blocks.

>>> dump({"expr": "a\\nb"}, header="# generated")
"""

from __future__ import annotations

from typing import Any

import yaml

_NO_WRAP = 1_000_000  # expressions stay on one line: a wrapped PromQL line is harder to diff


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: Any, *, header: str) -> str:
    """YAML text preceded by a comment header (each line prefixed with '# ')."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=_NO_WRAP)
    return comment + body
