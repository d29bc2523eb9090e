"""The Prometheus text format (0.0.4), written directly from catalog specs and sample values.

    >>> page = Exposition()
    >>> page.add(BEDS_OCCUPIED, ("yx-ch-people", "icu", "3"), 12.0)
    >>> print(page.render().decode())
    # HELP medalliance_beds_occupied Occupied beds of a ward ...
    # TYPE medalliance_beds_occupied gauge
    medalliance_beds_occupied{facility="yx-ch-people",ward="icu",partition="3"} 12.0

Why not prometheus_client's metric families: at province scale a scrape is ~110,000 series, and
building a family object per sample with label validation, then formatting it, took over a second
of the worker's event loop (every scrape is a pause in processing). Lines are formatted once here,
and a block that only changes with the registry can be kept and reused (`lines`/`add_lines`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

from schemas.metrics import CATALOG, MetricSpec

_ORDER: Final = {spec.name: index for index, spec in enumerate(CATALOG)}


def format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def _escape(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def _label_text(names: Sequence[str], values: Sequence[str]) -> str:
    if len(names) != len(values):
        raise ValueError(f"labels {tuple(names)} got values {tuple(values)}")
    return ",".join(f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True))


def sample_lines(spec: MetricSpec, labels: Sequence[str], value: Any) -> list[str]:
    """The lines of one series. A histogram's value is ([non-cumulative counts..., +Inf], sum)."""
    label_text = _label_text(spec.series_labels, labels)
    if spec.type != "histogram":
        return [f"{spec.name}{{{label_text}}} {format_value(value)}"]
    counts, total = value
    lines, cumulative = [], 0
    prefix = f"{label_text}," if label_text else ""
    for bound, count in zip((*spec.buckets, math.inf), counts, strict=True):
        cumulative += count
        lines.append(f'{spec.name}_bucket{{{prefix}le="{format_value(bound)}"}} {format_value(cumulative)}')
    lines.append(f"{spec.name}_count{{{label_text}}} {format_value(cumulative)}")
    lines.append(f"{spec.name}_sum{{{label_text}}} {format_value(total)}")
    return lines


class Exposition:
    """One scrape's page: series grouped by metric, metrics in catalog order."""

    def __init__(self) -> None:
        self._lines: dict[str, tuple[MetricSpec, list[str]]] = {}

    def _family(self, spec: MetricSpec) -> list[str]:
        found = self._lines.get(spec.name)
        if found is None:
            found = self._lines[spec.name] = (spec, [])
        return found[1]

    def add(self, spec: MetricSpec, labels: Sequence[str], value: Any) -> None:
        self._family(spec).extend(sample_lines(spec, labels, value))

    def add_lines(self, spec: MetricSpec, lines: Iterable[str]) -> None:
        """Lines made earlier with `sample_lines` (a cached block)."""
        self._family(spec).extend(lines)

    def render(self) -> bytes:
        """Every catalog family is declared (HELP, TYPE) even without samples: at night the visit and
        request families are empty, and discovery and `promtool check metrics` still see them."""
        out: list[str] = []
        families: dict[str, tuple[MetricSpec, list[str]]] = {spec.name: (spec, []) for spec in CATALOG}
        families.update(self._lines)
        ordered = sorted(families.values(), key=lambda item: _ORDER.get(item[0].name, len(_ORDER)))
        for spec, lines in ordered:
            help_text = spec.help.replace("\\", "\\\\").replace("\n", "\\n")
            out.append(f"# HELP {spec.name} {help_text}\n# TYPE {spec.name} {spec.type}\n")
            if lines:
                out.append("\n".join(lines))
                out.append("\n")
        return "".join(out).encode()
