"""Effects: the counter/histogram changes an event causes, applied to a partition's totals.

    >>> inc(EVENTS, "beds", "bed.admit")
    ('inc', 'medalliance_events_total\\x1fbeds\\x1fbed.admit', 1.0)

An effect is a plain tuple so it can be stored in a table value (see pipeline: entity values
remember the effects of offsets the totals may not have seen yet).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Final, Literal

from schemas.metrics import BY_NAME, MetricSpec

Op = Literal["inc", "max", "obs"]
Effect = tuple[str, str, float]
SEP: Final = "\x1f"


def series_key(spec: MetricSpec, *labels: str) -> str:
    if len(labels) != len(spec.labels):
        raise ValueError(f"{spec.name} takes labels {spec.labels}, got {labels}")
    return SEP.join((spec.name, *labels))


def split_key(key: str) -> tuple[MetricSpec, tuple[str, ...]]:
    name, *labels = key.split(SEP)
    return BY_NAME[name], tuple(labels)


def inc(spec: MetricSpec, *labels: str, amount: float = 1.0) -> Effect:
    return ("inc", series_key(spec, *labels), amount)


def high(spec: MetricSpec, *labels: str, value: float) -> Effect:
    """Keep the maximum (a last-seen timestamp)."""
    return ("max", series_key(spec, *labels), value)


def observe(spec: MetricSpec, *labels: str, value: float) -> Effect:
    return ("obs", series_key(spec, *labels), value)


def apply_effects(counters: dict[str, object], effects: list[Effect]) -> None:
    """Apply effects to a totals mapping in place: number per counter/gauge key; for a histogram
    key, [bucket counts..., +Inf count, sum] with the catalog's buckets (non-cumulative)."""
    for op, key, value in effects:
        if op == "inc":
            counters[key] = float(counters.get(key, 0.0)) + value  # type: ignore[arg-type]
        elif op == "max":
            current = counters.get(key)
            if current is None or value > current:  # type: ignore[operator]
                counters[key] = value
        else:
            buckets = BY_NAME[key.split(SEP, 1)[0]].buckets
            cells = counters.get(key)
            if cells is None:
                cells = [0] * (len(buckets) + 1) + [0.0]
                counters[key] = cells
            cells[bisect_left(buckets, value)] += 1  # type: ignore[index]
            cells[-1] += value  # type: ignore[index]
