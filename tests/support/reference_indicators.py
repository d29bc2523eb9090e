"""The alliance's indicators recomputed from the reference's figures, for comparing the recording rules.

    >>> expected = expected_metrics(log, now=now)
    >>> primary_care_share(expected, "month")      # 基层诊疗量占比 (alliance proxy), None with no visit
    >>> down_up_ratio(expected, "today"), mean_time_to_accept(expected)["up"]

Each indicator is the plain formula over the contract's series, as issue 20 and docs/contract.md
state it, with the primary levels typed in tests/support/contract.py and the facilities' levels read
from the shipped registry YAML; nothing of the code under test. Shares and ratios with a zero
denominator are None (no figure), never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from tests.support.contract import DIRECTIONS, PRIMARY_LEVELS
from tests.support.reference_decode import shipped_registry

Labels = frozenset[tuple[str, str]]
Figures = Mapping[tuple[str, Labels], float]
Period = Literal["today", "month"]
_P = "medalliance_"
_STAGE = _P + "referral_stage_seconds"


def primary_care_share(figures: Figures, period: Period) -> float | None:
    """基层诊疗量占比: visits (outpatient and emergency) at town health centers and village clinics
    over all visits of the alliance, today or this month to date. A proxy of the county's figure:
    the county's facilities outside the alliance are not in the feeds."""
    levels = {facility_id: facility["level"] for facility_id, facility in shipped_registry().items()}
    by_facility = _summed(figures, f"{_P}visits_{period}", "facility")
    everyone = sum(by_facility.values())
    primary = sum(count for facility, count in by_facility.items() if levels[facility] in PRIMARY_LEVELS)
    return primary / everyone if everyone else None


def referral_counts(figures: Figures, period: Period) -> dict[str, float]:
    """Referrals requested today or this month to date, by direction (every direction, 0 if none)."""
    counts = _summed(figures, f"{_P}referrals_{period}", "direction")
    return {direction: counts.get(direction, 0.0) for direction in DIRECTIONS}


def down_up_ratio(figures: Figures, period: Period) -> float | None:
    """Down-referrals per up-referral (下转/上转) in the period; None with no up-referral."""
    counts = referral_counts(figures, period)
    return counts["down"] / counts["up"] if counts["up"] else None


def mean_time_to_accept(figures: Figures) -> dict[str, float]:
    """Mean seconds from request to acceptance by direction (the accepted observations' sum over
    their count), for the directions with at least one acceptance."""
    sums = _summed(figures, f"{_STAGE}_sum", "direction", stage="accepted")
    counts = _summed(figures, f"{_STAGE}_count", "direction", stage="accepted")
    return {direction: sums.get(direction, 0.0) / count for direction, count in counts.items() if count}


def arrived_accepted_share(figures: Figures) -> dict[str, float]:
    """Referrals arrived over referrals accepted by direction (the two stages' observation counts),
    for the directions with at least one acceptance."""
    arrived = _summed(figures, f"{_STAGE}_count", "direction", stage="arrived")
    accepted = _summed(figures, f"{_STAGE}_count", "direction", stage="accepted")
    return {direction: arrived.get(direction, 0.0) / count for direction, count in accepted.items() if count}


def _summed(figures: Figures, name: str, by: str, **match: str) -> dict[str, float]:
    """The samples of `name` whose labels include `match`, summed by the label `by`."""
    out: dict[str, float] = {}
    for (sample, labels), value in figures.items():
        found = dict(labels)
        if sample == name and match.items() <= found.items():
            out[found[by]] = out.get(found[by], 0.0) + value
    return out
