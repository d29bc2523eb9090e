"""Province-scale registries: n copies of an alliance with suffixed, label-safe ids.

>>> province = scale_registry(load_registry(), 100)    # ~13,600 facilities
>>> unit_of("yx-ch-people-a007")                        # 'a007'
"""

from __future__ import annotations

import re
from typing import Any, Final

from schemas.registry import Registry

_UNIT: Final = re.compile(r"-(a\d{3,})$")
_MAX_COPIES: Final = 9999


def unit_suffix(copy: int) -> str:
    return f"a{copy:03d}"


def unit_of(facility_id: str) -> str:
    """Which copy of the alliance a facility belongs to ('' in an unscaled registry)."""
    match = _UNIT.search(facility_id)
    return match.group(1) if match else ""


def scale_registry(registry: Registry, n: int) -> Registry:
    """`n` copies of the alliance (n = 1 returns it unchanged); ids get a `-aNNN` suffix."""
    if not 1 <= n <= _MAX_COPIES:
        raise ValueError(f"scale must be between 1 and {_MAX_COPIES}, got {n}")
    if n == 1:
        return registry
    data = registry.model_dump(mode="json")
    townships: dict[str, Any] = {}
    facilities: list[dict[str, Any]] = []
    for copy in range(1, n + 1):
        suffix = unit_suffix(copy)
        for key, township in data["townships"].items():
            townships[f"{key}-{suffix}"] = {
                **township,
                "name": f"{township['name']}·{suffix}",
                "name_en": f"{township['name_en']} ({suffix})",
            }
        for facility in data["facilities"].values():
            facilities.append(
                {
                    **facility,
                    "id": f"{facility['id']}-{suffix}",
                    "name": f"{facility['name']}·{suffix}",
                    "name_en": f"{facility['name_en']} ({suffix})",
                    "township": f"{facility['township']}-{suffix}",
                    "wards": list(facility["wards"].values()),
                }
            )
    return Registry.model_validate(
        {
            "alliance": f"{data['alliance']} ×{n}",
            "alliance_en": f"{data['alliance_en']} x{n} (simulated province)",
            "note": f"{n} simulated copies of: {data['note']}",
            "townships": townships,
            "facilities": facilities,
        }
    )
