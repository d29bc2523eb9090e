"""PromQL built from the metric catalog, so no query types a metric name by hand.

    >>> sharded_sum(BEDS_OCCUPIED, by=("facility",))
    'sum by (facility) (medalliance_beds_occupied)'

Sharded metrics come from every worker, one series per owned partition: they are always
aggregated over `instance` and `partition`. Registry metrics come alike from every worker.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.metrics import FACILITY_INFO, SHARD_LABEL, MetricSpec

WORKER_LABELS = ("instance", SHARD_LABEL)


def selector(spec: MetricSpec, matchers: str = "", *, suffix: str = "") -> str:
    """`name{matchers}`; `suffix` picks a histogram part (`_bucket`, `_sum`, `_count`)."""
    name = spec.name + suffix
    if suffix and f"{spec.name}{suffix}" not in spec.sample_names:
        raise ValueError(f"{spec.name} has no {suffix} series")
    return f"{name}{{{matchers}}}" if matchers else name


def _grouping(by: Sequence[str] | None) -> str:
    if by is None:
        return "without (" + ", ".join(WORKER_LABELS) + ")"
    return "by (" + ", ".join(by) + ")"


def sharded_sum(
    spec: MetricSpec, matchers: str = "", *, by: Sequence[str] | None = None, suffix: str = ""
) -> str:
    """Sum a sharded metric over workers and partitions (`without (instance, partition)` by default)."""
    if not spec.sharded:
        raise ValueError(f"{spec.name} is not sharded; use registry_max")
    return f"sum {_grouping(by)} ({selector(spec, matchers, suffix=suffix)})"


def sharded_rate_sum(
    spec: MetricSpec, window: str, matchers: str = "", *, by: Sequence[str] | None = None, suffix: str = ""
) -> str:
    """Sum of per-series rates: rate first, so a partition moving between workers is not a reset."""
    return f"sum {_grouping(by)} (rate({selector(spec, matchers, suffix=suffix)}[{window}]))"


def sharded_max(spec: MetricSpec, matchers: str = "", *, by: Sequence[str] | None = None) -> str:
    """Max of a sharded timestamp gauge over workers and partitions."""
    return f"max {_grouping(by)} ({selector(spec, matchers)})"


def registry_max(spec: MetricSpec, matchers: str = "", *, by: Sequence[str] | None = None) -> str:
    """A registry metric, identical from every worker: `max without (instance)`."""
    if spec.sharded:
        raise ValueError(f"{spec.name} is sharded; use sharded_sum")
    grouping = "without (instance)" if by is None else "by (" + ", ".join(by) + ")"
    return f"max {grouping} ({selector(spec, matchers)})"


def with_facility_names(expr: str) -> str:
    """Join a per-`facility` vector with the registry names (`name`, `name_en`, `level`, `township`)."""
    return (
        f"({expr}) * on (facility) group_left (name, name_en, level, township) {registry_max(FACILITY_INFO)}"
    )
