"""Hand-made clinical cases for tests that need one case in a known state (a clock running).

>>> events = stemi_for_primary_pci("yx-ch-people", door=now - timedelta(minutes=80))
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any


def stemi_for_primary_pci(hospital: str, door: datetime) -> list[dict[str, Any]]:
    """A STEMI brought by the 120 ambulance to `hospital` for primary PCI, no wire yet."""
    case = f"case-{uuid.uuid4().hex[:12]}"

    def event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": str(uuid.uuid4()),
            "schema_version": 1,
            "type": kind,
            "facility_id": hospital,
            "occurred_at": at.isoformat(),
            "case_id": case,
            **fields,
        }

    stemi = {"category": "chest_pain"}
    return [
        event("case.opened", door, arrival_mode="ambulance_120", door_facility_id=hospital, **stemi),
        event("case.milestone", door, milestone="door", **stemi),
        event(
            "case.milestone", door + timedelta(seconds=2), milestone="diagnosis", diagnosis="stemi", **stemi
        ),
        event(
            "case.milestone",
            door + timedelta(seconds=4),
            milestone="reperfusion_strategy",
            strategy="primary_pci",
            **stemi,
        ),
    ]
