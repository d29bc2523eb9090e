"""The facility registry: the only source of facility and ward labels.

>>> registry = load_registry()            # the shipped Yangxi alliance
>>> registry.facility("yx-ch-people").wards["icu"].beds
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.yaml_file import load_yaml_model

Level = Literal["county_hospital", "town_health_center", "village_clinic"]
LEVELS: Final[tuple[Level, ...]] = ("county_hospital", "town_health_center", "village_clinic")
# 基层医疗卫生机构 (primary-level facilities): township health centers and village clinics.
PRIMARY_LEVELS: Final[tuple[Level, ...]] = ("town_health_center", "village_clinic")
# A referral's direction compares these: a higher rank is a higher level of care.
LEVEL_RANK: Final[dict[Level, int]] = {"county_hospital": 3, "town_health_center": 2, "village_clinic": 1}

# Ids become Prometheus label values and URL parts: keep them to a safe alphabet.
_LABEL_SAFE = r"^[a-z0-9][a-z0-9_-]{0,62}$"
LabelId = Annotated[str, Field(pattern=_LABEL_SAFE)]
SHIPPED_REGISTRY: Final = "yangxi.yaml"


class RegistryError(ValueError):
    """The registry file is missing or invalid; the message is one readable line."""


class Ward(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: LabelId
    name: str
    name_en: str
    beds: int = Field(ge=0, description="Nominal beds, used until the first census")


class OpeningHours(BaseModel):
    """Local opening hours; a clinic's feed is only expected to be live inside them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opens: time
    closes: time

    def is_open(self, local: datetime) -> bool:
        now = local.time()
        if self.opens <= self.closes:
            return self.opens <= now < self.closes
        return now >= self.opens or now < self.closes  # spans midnight


class Township(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    name_en: str


class Facility(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: LabelId
    name: str
    name_en: str
    level: Level
    township: LabelId
    ed_beds: int = Field(default=0, ge=0)
    wards: dict[str, Ward] = Field(default_factory=dict)
    opening_hours: OpeningHours | None = Field(
        default=None, description="None: publishes around the clock (hospitals, health centers)"
    )

    @field_validator("wards", mode="before")
    @classmethod
    def _wards_from_list(cls, value: object) -> object:
        if isinstance(value, list):
            return {ward["id"]: ward for ward in value}
        return value

    @property
    def nominal_beds(self) -> int:
        return sum(ward.beds for ward in self.wards.values())


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alliance: str
    alliance_en: str
    note: str = ""
    townships: dict[str, Township]
    facilities: dict[str, Facility]

    @field_validator("facilities", mode="before")
    @classmethod
    def _facilities_from_list(cls, value: object) -> object:
        if isinstance(value, list):
            # Counter, not list.count: a province-scale registry has ~13,600 facilities.
            counts = Counter(f.get("id") for f in value if isinstance(f, dict))
            dupes = sorted(str(i) for i, n in counts.items() if n > 1)
            if dupes:
                raise ValueError(f"duplicate facility ids: {', '.join(map(str, dupes))}")
            return {f["id"]: f for f in value}
        return value

    @model_validator(mode="after")
    def _townships_known(self) -> Registry:
        unknown = sorted({f.township for f in self.facilities.values()} - set(self.townships))
        if unknown:
            raise ValueError(f"facilities name unknown townships: {', '.join(unknown)}")
        return self

    def facility(self, facility_id: str) -> Facility:
        return self.facilities[facility_id]

    def has_ward(self, facility_id: str, ward_id: str) -> bool:
        facility = self.facilities.get(facility_id)
        return facility is not None and ward_id in facility.wards

    @cached_property
    def by_level(self) -> dict[Level, list[Facility]]:
        grouped: dict[Level, list[Facility]] = {level: [] for level in LEVELS}
        for facility in self.facilities.values():
            grouped[facility.level].append(facility)
        return grouped


def shipped_registry_path() -> Path:
    """Path of the registry shipped in the package (the Yangxi alliance)."""
    return Path(str(resources.files("schemas").joinpath(SHIPPED_REGISTRY)))


def load_registry(path: Path | str | None = None) -> Registry:
    """Load and validate a registry YAML file; raise RegistryError with one readable line."""
    source = Path(path) if path is not None else shipped_registry_path()
    return load_yaml_model(source, Registry, "registry", RegistryError)


def dump_registry(registry: Registry) -> str:
    """Serialise a registry back to YAML (used for scaled, province-size registries)."""
    data = registry.model_dump(mode="json")
    data["facilities"] = [{**f, "wards": list(f["wards"].values())} for f in data["facilities"].values()]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)
