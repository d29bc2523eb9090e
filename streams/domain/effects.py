"""Effects: the counter/histogram changes an event causes, applied to a partition's totals.

    >>> inc(EVENTS, "beds", "bed.admit")
    ('inc', 'events\\x1fbeds\\x1fbed.admit', 1.0)

An effect is a plain tuple so it can be stored in a table value (see pipeline: entity values
remember the effects of offsets the totals may not have seen yet). It names its series by the
state's stable id (streams.domain.state), never by the metric's exposition name.
"""

from __future__ import annotations

from typing import Any, Literal

from schemas.metrics import MetricSpec
from streams.domain.state import SEP, observe_cell, series_key, spec_of

Op = Literal["inc", "max", "obs"]
Effect = tuple[str, str, float]


def inc(spec: MetricSpec, *labels: str, amount: float = 1.0) -> Effect:
    return ("inc", series_key(spec, *labels), amount)


def high(spec: MetricSpec, *labels: str, value: float) -> Effect:
    """Keep the maximum (a last-seen timestamp)."""
    return ("max", series_key(spec, *labels), value)


def observe(spec: MetricSpec, *labels: str, value: float) -> Effect:
    return ("obs", series_key(spec, *labels), value)


def apply_effects(counters: dict[str, Any], effects: list[Effect]) -> None:
    """Apply effects to a totals mapping in place: a number per counter/gauge series; a
    HistogramCell per histogram series, counted under the catalog's current buckets."""
    for op, key, value in effects:
        if op == "inc":
            counters[key] = float(counters.get(key, 0.0)) + value
        elif op == "max":
            current = counters.get(key)
            if current is None or value > current:
                counters[key] = value
        else:
            spec = spec_of(key.split(SEP, 1)[0])
            assert spec is not None, key  # observe() only builds keys of catalog series
            counters[key] = observe_cell(counters.get(key), spec.buckets, value)
