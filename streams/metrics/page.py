"""The /metrics page from state (pure): a snapshot of what the worker owns in, exposition text out.

    >>> page = MetricsPage()
    >>> text = page.render(Snapshot(worker=facts, readout=readout, partitions={"beds": [state]}))

No Faust, no Kafka: streams.metrics.collector takes the snapshot from the tables and the consumer,
and this module turns it into the text format. Every owned partition says where it stands (next
offset, lag or that the lag is unknown) even when it holds no state yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.events import Feed
from schemas.metrics import (
    CONSUMER_LAG,
    CONSUMER_LAG_UNKNOWN,
    CONSUMER_OFFSET,
    ED_BEDS,
    FACILITY_INFO,
    FACILITY_OPEN,
    PARTITIONS_OWNED,
    POLICY_INFO,
    STATE_KEYS,
    STATE_UNREAD,
    WORKER_INFO,
)
from schemas.registry import Registry
from streams.domain.readout import Readout, partition_samples
from streams.metrics.exposition import Exposition, sample_lines
from streams.settings import Settings


@dataclass(frozen=True, slots=True)
class WorkerFacts:
    """What the worker says about itself (medalliance_worker_info, medalliance_policy_info)."""

    version: str
    store: str
    broker: str
    policy_hash: str


@dataclass(frozen=True, slots=True)
class PartitionState:
    """One owned source partition: its table items, the offset its state expects next, and the
    high watermark of the last fetch (None before any)."""

    partition: int
    items: Sequence[tuple[str, Any]]
    next_offset: int
    highwater: int | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    worker: WorkerFacts
    readout: Readout
    partitions: Mapping[Feed, Sequence[PartitionState]]  # owned partitions of each feed


def readout_from(settings: Settings, registry: Registry, now: datetime) -> Readout:
    """What the readout needs of the settings' policy, at `now`."""
    policy = settings.policy
    return Readout(
        registry=registry,
        now=now,
        zone=settings.zone,
        long_stay_seconds=policy.emergency.long_stay_hours * 3600.0,
        standards=policy.requests.standards(),
        due_soon_fraction=policy.requests.due_soon_share,
        centers=policy.centers,
        referrals=policy.referrals,
    )


class MetricsPage:
    """Renders snapshots; keeps the registry's own lines between renders."""

    def __init__(self) -> None:
        # The registry's own series change only with the registry (and opening hours by the
        # minute): formatted once and reused, they are a third of a province-scale scrape.
        self._registry_block: tuple[object, list[str], list[str]] | None = None
        self._open_block: tuple[object, str, list[str]] | None = None

    def render(self, snapshot: Snapshot) -> bytes:
        """The /metrics body: the registry's series and those of every owned partition."""
        page = Exposition()
        worker = snapshot.worker
        page.add(WORKER_INFO, (worker.version, worker.store, worker.broker), 1.0)
        page.add(POLICY_INFO, (worker.policy_hash,), 1.0)
        self._registry_metrics(page, snapshot.readout)
        for feed, owned in snapshot.partitions.items():
            page.add(PARTITIONS_OWNED, (feed,), float(len(owned)))
            for state in owned:
                _partition_metrics(page, feed, state, snapshot.readout)
        return page.render()

    def _registry_metrics(self, page: Exposition, readout: Readout) -> None:
        registry = readout.registry
        if self._registry_block is None or self._registry_block[0] is not registry:
            info: list[str] = []
            ed_beds: list[str] = []
            for facility in registry.facilities.values():
                labels = (facility.id, facility.name, facility.name_en, facility.level, facility.township)
                info += sample_lines(FACILITY_INFO, labels, 1.0)
                ed_beds += sample_lines(ED_BEDS, (facility.id,), float(facility.ed_beds))
            self._registry_block = (registry, info, ed_beds)
        page.add_lines(FACILITY_INFO, self._registry_block[1])
        page.add_lines(ED_BEDS, self._registry_block[2])
        local = readout.now.astimezone(readout.zone)
        minute = local.strftime("%Y-%m-%dT%H:%M")
        if self._open_block is None or self._open_block[:2] != (registry, minute):
            self._open_block = (registry, minute, _open_lines(registry, local))
        page.add_lines(FACILITY_OPEN, self._open_block[2])


def _open_lines(registry: Registry, local: datetime) -> list[str]:
    lines: list[str] = []
    for facility in registry.facilities.values():
        hours = facility.opening_hours
        is_open = hours is None or hours.is_open(local)
        lines += sample_lines(FACILITY_OPEN, (facility.id,), 1.0 if is_open else 0.0)
    return lines


def _partition_metrics(page: Exposition, feed: Feed, state: PartitionState, readout: Readout) -> None:
    labels = (feed, str(state.partition))
    if state.items:
        page.add(STATE_KEYS, labels, float(len(state.items)))
        read = partition_samples(state.items, readout)
        for spec, sample_labels, value in read.samples:
            page.add(spec, (*sample_labels, str(state.partition)), value)
        for reason, count in read.unread.items():
            page.add(STATE_UNREAD, (feed, reason, str(state.partition)), float(count))
    page.add(CONSUMER_OFFSET, labels, float(state.next_offset))
    page.add(CONSUMER_LAG_UNKNOWN, labels, 0.0 if state.highwater is not None else 1.0)
    if state.highwater is not None:
        page.add(CONSUMER_LAG, labels, float(max(0, state.highwater - state.next_offset)))
