"""The one comparator of every ground-truth test: scraped (or Prometheus-stored) samples against the
reference's figures, for every series the contract defines.

    >>> problems = mismatches(worker.scrape(), expected_metrics(log, now=now))
    >>> assert problems == [], "\\n".join(problems)

The list of series is the contract's (tests/support/contract.py), not the product catalog's: the
registry series (`facility_info`, `ed_beds`) and every `request_stage_seconds` bucket are compared
exactly, `event_delay_seconds` by its count only (its values depend on when the worker ran), and
samples combine as the rules combine them: summed over partitions and workers, the last-seen
timestamps by max, the registry series (exported alike by every worker) by max over workers only.
A series absent on one side counts as 0 there. Samples the contract does not name are ignored:
more metrics are welcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from tests.support.contract import SERIES, Series, bucket_label

Labels = frozenset[tuple[str, str]]
Samples = Mapping[tuple[str, Labels], float]
# Labels a worker or Prometheus adds to every sample; the contract's figures are without them.
WORKER_LABELS: Final = frozenset({"instance", "job"})
# A stage-time sum adds thousands of floats in another order than the reference does.
_RELATIVE_TOLERANCE: Final = 1e-9
_ABSOLUTE_TOLERANCE: Final = 1e-6
_SHOWN_PER_NAME: Final = 6


def mismatches(samples: Samples, expected: Samples, *, series: Iterable[Series] = SERIES) -> list[str]:
    """One line per contract series whose combined value differs from the reference; [] when all
    agree. A name with many wrong series reports the first few and how many more."""
    problems: list[str] = []
    for spec in series:
        for name in spec.sample_names():
            got = combined(samples, name, spec)
            want = {labels: value for (n, labels), value in _canonical(expected, name).items() if value}
            wrong = [
                f"{name}{dict(sorted(labels))}: got {got.get(labels, 0.0)}, expected {want.get(labels, 0.0)}"
                for labels in sorted(set(got) | set(want), key=sorted)
                if not _close(got.get(labels, 0.0), want.get(labels, 0.0))
            ]
            problems += wrong[:_SHOWN_PER_NAME]
            if len(wrong) > _SHOWN_PER_NAME:
                problems.append(f"{name}: {len(wrong) - _SHOWN_PER_NAME} more series differ")
    return problems


def combined(samples: Samples, name: str, spec: Series) -> dict[Labels, float]:
    """The samples of `name` as the rules aggregate them, zeros left out (absent means 0)."""
    dropped = WORKER_LABELS if spec.aggregation == "registry" else WORKER_LABELS | {"partition"}
    by_max = spec.aggregation in ("max", "registry")
    out: dict[Labels, float] = {}
    for (_, labels), value in _canonical(samples, name).items():
        key = frozenset((k, v) for k, v in labels if k not in dropped)
        if key in out:
            value = max(out[key], value) if by_max else out[key] + value
        out[key] = value
    return {labels: value for labels, value in out.items() if value}


def _canonical(samples: Samples, name: str) -> dict[tuple[str, Labels], float]:
    """The samples of one name, with a bucket's `le` spelled one way ("60" and "60.0" alike) and
    no label of empty value: to Prometheus `ward=""` is no `ward` label at all (a referral pending
    for no named ward is stored without it, though the worker's page writes it)."""
    found: dict[tuple[str, Labels], float] = {}
    for (sample_name, labels), value in samples.items():
        if sample_name == name:
            labels = frozenset(
                (k, bucket_label(v) if k == "le" and name.endswith("_bucket") else v)
                for k, v in labels
                if v != ""
            )
            found[(sample_name, labels)] = value
    return found


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= max(_ABSOLUTE_TOLERANCE, _RELATIVE_TOLERANCE * abs(want))
