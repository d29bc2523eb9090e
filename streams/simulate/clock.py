"""Time helpers of the simulator: the alliance's time zone, daily rhythms, wire timestamps.

>>> wire_time(datetime(2026, 11, 22, 0, 15, tzinfo=UTC))
'2026-11-22T08:15:00+08:00'
>>> rhythm(OUTPATIENT_RHYTHM, local_hour=9)   # > 1 in the morning peak
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Final, TypeVar

# Events carry the alliance's local offset (China Standard Time has no daylight saving).
LOCAL_ZONE: Final = timezone(timedelta(hours=8))
_OFFSET_SECONDS: Final = 8 * 3600

# Relative hourly weights (local hour 0..23); each table is normalised to a daily mean of 1.
# Outpatient clinics: a sharp morning peak, a smaller afternoon session, little at night.
_OUTPATIENT: Final = (0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 1.2, 3.0, 3.6, 3.2, 2.2,
                      0.9, 1.2, 2.2, 2.2, 1.8, 1.0, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1)  # fmt: skip
# Emergency departments: busy late morning and evening, quiet before dawn.
_ED: Final = (0.6, 0.5, 0.4, 0.35, 0.35, 0.4, 0.6, 0.9, 1.3, 1.6, 1.7, 1.6,
              1.4, 1.3, 1.3, 1.3, 1.3, 1.3, 1.4, 1.5, 1.4, 1.1, 0.9, 0.7)  # fmt: skip
# Ward admissions follow the day's ED and elective flow; discharges cluster late morning.
_ADMIT: Final = (0.5, 0.4, 0.3, 0.3, 0.3, 0.4, 0.6, 0.9, 1.2, 1.4, 1.5, 1.5,
                 1.4, 1.4, 1.4, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7, 0.6)  # fmt: skip
_DISCHARGE: Final = (0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 2.8, 3.4, 3.2,
                     2.4, 1.8, 1.5, 1.3, 1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.2, 0.1)  # fmt: skip
# High-risk requests: a little more by day, never zero at night.
_REQUEST: Final = (0.6, 0.5, 0.5, 0.5, 0.5, 0.6, 0.8, 1.0, 1.2, 1.3, 1.3, 1.3,
                   1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7)  # fmt: skip
# Two-way referrals follow the working day (ward rounds, clinic sessions): few at night, never none.
_REFERRAL: Final = (0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.3, 0.8, 2.2, 2.6, 2.6, 2.2,
                    0.9, 1.0, 2.0, 2.2, 2.0, 1.2, 0.6, 0.45, 0.4, 0.3, 0.25, 0.2)  # fmt: skip


T = TypeVar("T")


def _normalised(weights: tuple[float, ...]) -> tuple[float, ...]:
    mean = sum(weights) / len(weights)
    return tuple(w / mean for w in weights)


OUTPATIENT_RHYTHM: Final = _normalised(_OUTPATIENT)
ED_RHYTHM: Final = _normalised(_ED)
ADMIT_RHYTHM: Final = _normalised(_ADMIT)
DISCHARGE_RHYTHM: Final = _normalised(_DISCHARGE)
REQUEST_RHYTHM: Final = _normalised(_REQUEST)
REFERRAL_RHYTHM: Final = _normalised(_REFERRAL)


def rhythm(table: tuple[float, ...], *, local_hour: int) -> float:
    return table[local_hour % 24]


def local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_ZONE)


def wire_time(moment: datetime) -> str:
    """RFC 3339 with the +08:00 offset, whole seconds (what the simulated HIS sends)."""
    return moment.astimezone(LOCAL_ZONE).isoformat(timespec="seconds")


@lru_cache(maxsize=8192)
def wire_time_of_second(epoch_second: int) -> str:
    """wire_time of a whole epoch second; cached, since a province emits hundreds of events a second."""
    return datetime.fromtimestamp(epoch_second, LOCAL_ZONE).isoformat(timespec="seconds")


def local_second_of_day(epoch: float) -> int:
    """Seconds since local midnight (the offset is fixed, so no time zone lookup per event)."""
    return int(epoch + _OFFSET_SECONDS) % 86400


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, normal approximation above 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def weighted_choice(rng: random.Random, table: tuple[tuple[T, float], ...]) -> T:
    """A value drawn from (value, weight) pairs whose weights add up to 1."""
    point, total = rng.random(), 0.0
    for value, weight in table:
        total += weight
        if point < total:
            return value
    return table[-1][0]
