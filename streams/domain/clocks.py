"""A running clock against a time standard: ok, due soon, overdue — one rule for requests and cases.

    >>> clock_status(500.0, standard=600.0, due_soon_share=0.8)
    'due_soon'

Overdue from the standard itself (at the standard there is no time left), due soon from the share
of it, ok before. Request stages and the centers' clinical intervals both read it, so the two
clocks on the wall can never disagree on where amber starts; a referral's pending limit (expired,
accepted late) is past by the same rule (`is_past`).
"""

from __future__ import annotations

from typing import Final, Literal

ClockStatus = Literal["ok", "due_soon", "overdue"]
CLOCK_STATUSES: Final[tuple[ClockStatus, ...]] = ("ok", "due_soon", "overdue")


def is_past(elapsed: float, *, limit: float) -> bool:
    """Whether `elapsed` seconds have used up a `limit` of seconds (at the limit they have)."""
    return elapsed >= limit


def clock_status(elapsed: float, *, standard: float, due_soon_share: float) -> ClockStatus:
    """Where `elapsed` seconds stand against a `standard` of seconds."""
    if is_past(elapsed, limit=standard):
        return "overdue"
    if elapsed >= due_soon_share * standard:
        return "due_soon"
    return "ok"
