"""Hand-made referral events for tests that need a referral in a known state (pending, expired, late).

>>> referral_event("referral.requested", "yx-thc-shaba", now - timedelta(minutes=30), "f-1",
...                to_facility_id="yx-ch-people", reason="beyond_capability", department="内科")
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

_ZONE = ZoneInfo("Asia/Shanghai")  # as hospital systems write their times


def referral_event(kind: str, facility: str, at: datetime, referral_id: str, **fields: Any) -> dict[str, Any]:
    """One event of type `kind` (e.g. "referral.accepted") published by `facility` at `at`."""
    return {
        "event_id": str(uuid.uuid4()), "type": kind, "schema_version": 1, "facility_id": facility,
        "occurred_at": at.replace(microsecond=0).astimezone(_ZONE).isoformat(),
        "referral_id": referral_id, **fields,
    }  # fmt: skip
