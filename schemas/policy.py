"""The policy: every threshold and window of the service, typed, in one file (`schemas/policy.yaml`).

    >>> policy = shipped_policy()
    >>> policy.occupancy.page_ward, policy.requests.due_soon_share
    (0.9, 0.8)

Like a monitoring mixin's config, one policy feeds everything that judges a number: the worker (due
soon, overdue, long ED stays), `medalliance generate` (recording and alerting rules, dashboards) and
the wall (colours, staleness). Values are named by purpose, so two that are equal today (the amber
display band and the first escalation step) can part tomorrow without a hunt through the code.
`policy_hash` fingerprints a policy: the worker exports it and the generated rules carry it, so an
alert (`PolicyMismatch`) catches rules generated from another policy than the worker runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container, Iterable
from functools import cache
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.clinical import (
    CENTER_DIAGNOSES,
    CENTER_MILESTONES,
    CENTER_STRATEGIES,
    Bypass,
    CaseArrival,
    Diagnosis,
    Milestone,
    Strategy,
)
from schemas.events import CATEGORIES, DIRECTIONS, STANDARD_STAGES, Category, Direction, StandardStage
from schemas.registry import LEVELS, Level
from schemas.yaml_file import load_yaml_model

SHIPPED_POLICY: Final = Path(__file__).with_name("policy.yaml")
Ratio = Annotated[float, Field(gt=0, le=10)]
Seconds = Annotated[int, Field(gt=0, le=30 * 86400)]
Minutes = Annotated[float, Field(gt=0, le=24 * 60)]


class PolicyError(ValueError):
    """A policy file is missing or invalid; the message is one readable line."""


def _require_every(name: str, table: Container[str], keys: Iterable[str], what: str) -> None:
    """A table keyed by a closed list (categories, levels, directions) must name every key."""
    missing = [key for key in keys if key not in table]
    if missing:
        raise ValueError(f"{name} has no {what} for {', '.join(missing)}")


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Steps(_Part):
    """Three rising thresholds: level 2 from `low`, level 3 from `mid`, level 4 above `high`."""

    low: Ratio
    mid: Ratio
    high: Ratio

    @model_validator(mode="after")
    def _rising(self) -> Steps:
        if not self.low < self.mid < self.high:
            raise ValueError(f"steps must rise: {self.low}, {self.mid}, {self.high}")
        return self

    def values(self) -> tuple[float, float, float]:
        return (self.low, self.mid, self.high)


class Occupancy(_Part):
    display: Steps  # wall and dashboard colours: amber, red, corridor beds
    escalation: Steps  # OPEL-style levels 2/3/4 of a hospital and of the county (docs/escalation.md)
    page_ward: Ratio  # WardOccupancyHigh for wards of at least `small_ward_beds`
    page_facility: Ratio  # FacilityOverCapacity: above this, corridor beds
    small_ward_beds: Annotated[int, Field(ge=1)]  # below this a percentage misleads...
    small_ward_free_beds: Annotated[int, Field(ge=0)]  # ...so small wards page on free beds
    runway_target: Ratio  # the county occupancy the runway counts hours to
    runway_short_hours: Annotated[float, Field(gt=0)]  # CountyBedRunwayShort below this
    runway_trend_seconds: Seconds  # the trend behind the runway
    runway_ample_hours: Annotated[float, Field(gt=0)]  # dashboards: a runway this long is green


class Emergency(_Part):
    long_stay_hours: Annotated[float, Field(gt=0, le=72)]  # a longer ED stay is long (worker and alert)
    escalation: Steps  # patients per ED bed for levels 2/3/4
    page_over_beds: Ratio  # EDOverCapacity: patients per ED bed above this
    surge_factor: Ratio  # EDSurge: arrivals over this many times the same hour yesterday / last week
    surge_floor: Annotated[int, Field(ge=1)]  # ...and at least this many an hour
    surge_lookback_days: tuple[int, ...]  # the baselines: same hour this many days ago
    lwbs_ratio: Ratio  # EDLeftWithoutBeingSeenHigh
    lwbs_seconds: Seconds  # ...over this window
    lwbs_min_departures: Annotated[int, Field(ge=1)]  # ...with at least this many departures


class Requests(_Part):
    accept_minutes: dict[Category, Minutes]  # submission -> accepted, per category (DOMAIN.md)
    arrive_minutes: dict[Category, Minutes]  # submission -> arrived, per category
    due_soon_share: Annotated[float, Field(gt=0, lt=1)]  # share of a standard after which it is due soon
    escalation_overdue: Annotated[int, Field(ge=1)]  # overdue requests at one hospital for level 4

    @model_validator(mode="after")
    def _every_category(self) -> Requests:
        for name, table in (("accept_minutes", self.accept_minutes), ("arrive_minutes", self.arrive_minutes)):
            _require_every(name, table, CATEGORIES, "standard")
        return self

    def standard_seconds(self, category: Category, stage: StandardStage) -> float:
        table = self.accept_minutes if stage == "accepted" else self.arrive_minutes
        return table[category] * 60.0

    def standards(self) -> dict[tuple[str, str], float]:
        """(category, stage) -> seconds, every standard."""
        return {
            (category, stage): self.standard_seconds(category, stage)
            for category in CATEGORIES
            for stage in STANDARD_STAGES
        }


Share = Annotated[float, Field(gt=0, le=1)]
StandardId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]  # becomes a metric label


class CaseFilter(_Part):
    """Which cases of a center a standard counts: each named field must hold one of its values; a
    value the case does not have yet (no diagnosis so far) does not match."""

    diagnosis: tuple[Diagnosis, ...] | None = None
    strategy: tuple[Strategy, ...] | None = None
    arrival: tuple[CaseArrival, ...] | None = None


class _CenterRule(_Part):
    id: StandardId
    category: Category
    when: CaseFilter = CaseFilter()
    # "national": a published number (docs/centers.md cites it); "site": no national number, a
    # default for a site to set.
    basis: Literal["national", "site"]

    def _check_filter(self) -> None:
        for name, values, allowed in (
            ("diagnosis", self.when.diagnosis, CENTER_DIAGNOSES[self.category]),
            ("strategy", self.when.strategy, CENTER_STRATEGIES[self.category]),
        ):
            stray = [value for value in values or () if value not in allowed]
            if stray:
                raise ValueError(f"{self.id}: {name} {', '.join(stray)} is not of the {self.category} center")


class IntervalStandard(_CenterRule):
    """A clinical interval of a center: `start` milestone to `end` milestone within `minutes`."""

    start: Milestone
    end: Milestone
    minutes: Minutes
    target: Share | None = None  # share of cases within `minutes` the center must reach; None: tracked
    mean_within: bool = False  # the standard also asks the monthly mean to stay within `minutes`

    @model_validator(mode="after")
    def _of_the_center(self) -> IntervalStandard:
        own = CENTER_MILESTONES[self.category]
        stray = [m for m in (self.start, self.end) if m not in own]
        if stray or self.start == self.end:
            raise ValueError(
                f"{self.id}: {self.start} -> {self.end} is not an interval of the {self.category} center"
            )
        self._check_filter()
        return self


class BypassStandard(_CenterRule):
    """A share of a center's cases that must have bypassed the ED and/or the CCU."""

    bypassed: tuple[Bypass, ...]
    target: Share

    @model_validator(mode="after")
    def _of_the_center(self) -> BypassStandard:
        self._check_filter()
        return self


class Centers(_Part):
    intervals: tuple[IntervalStandard, ...]
    bypass: tuple[BypassStandard, ...]
    # For intervals this short the 80% point is the last moment to act: due soon pages.
    due_soon_share: Annotated[float, Field(gt=0, lt=1)]
    compliance_window_days: Annotated[int, Field(ge=1, le=35)]  # the QC platforms count by month
    compliance_min_cases: Annotated[int, Field(ge=1)]  # fewer cases in the window: no compliance ticket

    @model_validator(mode="after")
    def _unique_ids(self) -> Centers:
        ids = [rule.id for rule in (*self.intervals, *self.bypass)]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"standard ids must be unique: {', '.join(twice)}")
        return self


class Feeds(_Part):
    stale_seconds: dict[Level, Seconds]  # a feed silent this long while its facility is open is stale
    clinic_open_grace_seconds: Seconds  # a clinic open for less than this is not judged yet

    @property
    def shortest_stale_seconds(self) -> int:
        """The shortest stale age of any level: the wall's banner says it; a data age past it is red."""
        return min(self.stale_seconds.values())

    @model_validator(mode="after")
    def _every_level(self) -> Feeds:
        _require_every("stale_seconds", self.stale_seconds, LEVELS, "age")
        return self


class Pipeline(_Part):
    rejected_ratio: Ratio  # RejectedEventsHigh
    rejected_seconds: Seconds
    rejected_min_events: Annotated[int, Field(ge=1)]
    delay_quantile: Annotated[float, Field(gt=0, lt=1)]  # PipelineDelayHigh
    delay_seconds: Seconds
    delay_window_seconds: Seconds
    consumer_stall_seconds: Seconds  # ConsumerLagUnknown, ConsumerStalled
    delay_alarm_seconds: Seconds  # dashboards: a delay past `delay_seconds` is amber, past this red
    lag_warn_messages: Annotated[int, Field(ge=1)]  # dashboards: consumer lag amber from here...
    lag_alarm_messages: Annotated[int, Field(ge=1)]  # ...and red from here


class Referrals(_Part):
    pending_limit_minutes: dict[Direction, Annotated[float, Field(gt=0, le=7 * 24 * 60)]]  # then expired

    @model_validator(mode="after")
    def _every_direction(self) -> Referrals:
        _require_every("pending_limit_minutes", self.pending_limit_minutes, DIRECTIONS, "limit")
        return self

    def pending_limit_seconds(self, direction: str) -> float:
        return self.pending_limit_minutes[direction] * 60.0  # type: ignore[index]


class Indicators(_Part):
    primary_care_share_target: Share  # 基层诊疗量占比 (国办发〔2015〕70号: >= 65%)


class Escalation(_Part):
    hospitals_for_alliance: Annotated[int, Field(ge=1)]  # county hospitals at level L make the alliance L


class Policy(_Part):
    occupancy: Occupancy
    emergency: Emergency
    requests: Requests
    feeds: Feeds
    pipeline: Pipeline
    escalation: Escalation
    centers: Centers
    referrals: Referrals
    indicators: Indicators

    @property
    def hash(self) -> str:
        """12 hex digits of SHA-256 over the policy's canonical JSON: equal policies, equal hashes."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def load_policy(path: Path) -> Policy:
    """Read a policy YAML file, or raise PolicyError with one line naming the file and the field."""
    return load_yaml_model(path, Policy, "policy", PolicyError)


@cache
def shipped_policy() -> Policy:
    """The shipped policy (schemas/policy.yaml): DOMAIN.md's numbers."""
    return load_policy(SHIPPED_POLICY)
