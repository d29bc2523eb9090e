"""Assembling /api/overview: the wall's numbers, each section with its own freshness.

    >>> builder = OverviewBuilder(settings, prometheus_url="http://127.0.0.1:9090",
    ...                           worker_urls=["http://127.0.0.1:6066"])
    >>> overview = await builder.refresh(session)
    >>> overview["sections"]["county"]["data"]["beds_free"]

A section is fresh only when its source answered *and* covers the whole alliance (every source
partition of its feeds is owned by a worker Prometheus scrapes now). Otherwise the section keeps
its last good numbers, marked `stale` with the time they were true, so the page greys them out
instead of showing partial sums. See docs/wall.md for the JSON format.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import aiohttp

from schemas.events import FEEDS
from schemas.registry import load_registry
from schemas.rules import POLICY_HASH_LABEL
from streams.settings import Settings
from streams.wall import facts
from streams.wall.banners import Banner, Outages, outage_banners
from streams.wall.board import board_rows, case_rows, missing_partitions
from streams.wall.queries import WALL_QUERIES
from streams.wall.sources import Sample, SourceError, WorkerAnswer, fetch_workers, query_all

logger = logging.getLogger(__name__)
REFRESH_SECONDS: Final = 2.0  # the page promises an update at least every 5 s

Vectors = dict[str, list[Sample]]
# Sections read from Prometheus, the feeds they need complete, and how to compute them.
_PROM_SECTIONS: Final[dict[str, tuple[tuple[str, ...], Callable[[Vectors, float, facts.Iso], Any]]]] = {
    "county": (("beds",), facts.county),
    "facilities": (("beds",), facts.facilities),
    "visits_today": (("visits",), facts.visits_today),
    "ed": (("visits",), facts.emergency),
    "request_clocks": (("requests",), facts.request_clocks),
    "escalation": (FEEDS, facts.escalation),
    "stale_feeds": (FEEDS, facts.stale_feeds),
    "centers": (("requests",), facts.centers),
    "referrals": (("requests", "beds"), facts.referrals),
    "primary_care": (("visits",), facts.primary_care),
}
# Sections that are recording rules: unknown, not empty, while Prometheus has no rules loaded.
_RULE_SECTIONS: Final = frozenset({"escalation", "stale_feeds", "centers", "referrals", "primary_care"})


def _short_labels(labels: dict[str, str]) -> dict[str, str]:
    return {key: labels.get(key, "") for key in ("name", "name_en", "level", "township")}


@dataclass(slots=True)
class Section:
    """The last good value of a section and whether it is current."""

    data: Any = None
    updated_at: float | None = None
    stale: bool = True
    reason: str | None = None


class OverviewBuilder:
    """Keeps the last good value of every section between refreshes."""

    def __init__(self, settings: Settings, *, prometheus_url: str, worker_urls: list[str]) -> None:
        self.settings = settings
        self.prometheus_url = prometheus_url.rstrip("/")
        self.worker_urls = list(worker_urls)
        self.zone = ZoneInfo(settings.timezone)
        self.sections: dict[str, Section] = {
            name: Section() for name in (*_PROM_SECTIONS, "requests", "cases")
        }
        self.prometheus_last_ok: float | None = None
        self.worker_last_ok: dict[str, float] = {}
        self.names: dict[str, dict[str, str]] = {}
        # Ward names for the referral card (Prometheus carries facility names, not ward names).
        self.ward_names = {
            (facility.id, ward.id): ward.name
            for facility in load_registry(settings.registry_path).facilities.values()
            for ward in facility.wards.values()
        }

    async def refresh(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        """Read both sources once and return the overview document."""
        now = time.time()
        policy = self.settings.policy
        outages = Outages(
            prometheus_url=self.prometheus_url,
            stale_feed_minutes=policy.feeds.shortest_stale_seconds / 60,
            policy_hash=policy.hash,
        )
        vectors: Vectors = {}
        try:
            vectors = await query_all(session, self.prometheus_url, WALL_QUERIES, at=now)
            self.prometheus_last_ok = now
            self.names = {fid: _short_labels(labels) for fid, labels in facts.facility_names(vectors).items()}
        except SourceError as exc:
            outages.prometheus_error = str(exc)
            outages.prometheus_since = self._hhmmss(self.prometheus_last_ok)
            logger.info("prometheus unreadable url=%s error=%s", self.prometheus_url, exc)
        answers = await fetch_workers(session, self.worker_urls)
        if outages.prometheus_error is None:
            self._coverage(vectors, outages)
        self._update_prometheus_sections(vectors, now, outages)
        self._update_board(answers, now, outages)
        stale = self.sections["stale_feeds"]
        outages.stale_feeds = len(stale.data["items"]) if stale.data and not stale.stale else 0
        return self._document(now, outages.prometheus_error, answers, outage_banners(outages))

    def _coverage(self, vectors: Vectors, outages: Outages) -> None:
        """Which feeds have partitions no scraped worker reports (their sums would be partial)."""
        outages.targets_down = [s["metric"].get("instance", "?") for s in vectors["targets_down"]]
        outages.rules_policies = sorted(
            {s["metric"].get(POLICY_HASH_LABEL, "") for s in vectors["rules_policy"]}
        )
        reported = {s["metric"].get("feed", ""): float(s["value"][1]) for s in vectors["partitions_reported"]}
        expected = self.settings.partitions
        for feed in FEEDS:
            have = int(reported.get(feed, 0))
            if have < expected:
                outages.incomplete_feeds[feed] = (have, expected)

    def _update_prometheus_sections(self, vectors: Vectors, now: float, outages: Outages) -> None:
        for name, (feeds, compute) in _PROM_SECTIONS.items():
            section = self.sections[name]
            missing = [
                f"{feed} {outages.incomplete_feeds[feed][0]}/{outages.incomplete_feeds[feed][1]} partitions"
                for feed in feeds
                if feed in outages.incomplete_feeds
            ]
            if name in _RULE_SECTIONS and outages.rules_policies == []:
                missing.append("recording rules not loaded")
            if outages.prometheus_error is not None or missing:
                section.stale = True
                section.reason = (
                    f"Prometheus: {outages.prometheus_error}"
                    if outages.prometheus_error
                    else ("incomplete: " + ", ".join(missing))
                )
                continue
            section.data, section.updated_at = compute(vectors, now, self._iso), now
            section.stale, section.reason = False, None
        referrals = self.sections["referrals"].data
        for row in referrals["pending"] if referrals else []:
            row["ward_name"] = self.ward_names.get((row["facility"], row["ward"]), row["ward"])

    def _update_board(self, answers: list[WorkerAnswer], now: float, outages: Outages) -> None:
        for answer in answers:
            if answer.ok:
                self.worker_last_ok[answer.url] = now
            else:
                outages.dead_workers.append((answer.url, answer.error or "error"))
        section, centers = self.sections["requests"], self.sections["cases"]
        outages.missing_request_partitions = missing_partitions(answers, self.settings.partitions)
        if outages.missing_request_partitions:
            listed = ", ".join(map(str, outages.missing_request_partitions))
            for part in (section, centers):  # the cases ride on the requests feed's partitions
                part.stale, part.reason = True, f"request partitions not served by any worker: {listed}"
            return
        case_board = case_rows(answers)
        for row in case_board:
            row["center_name"] = self.names.get(row["center"], {}).get("name", row["center"])
        centers.data, centers.updated_at, centers.stale, centers.reason = (
            {"items": case_board},
            now,
            False,
            None,
        )
        rows = board_rows(answers, due_soon_fraction=self.settings.policy.requests.due_soon_share)
        for row in rows:
            row["from_name"] = self.names.get(row["from_facility"], {}).get("name", row["from_facility"])
            row["to_name"] = self.names.get(row["to_facility"], {}).get("name", row["to_facility"])
        section.data, section.updated_at, section.stale, section.reason = {"items": rows}, now, False, None

    def _hhmmss(self, ts: float | None) -> str | None:
        return None if ts is None else datetime.fromtimestamp(ts, self.zone).strftime("%H:%M:%S")

    def _iso(self, ts: float | None) -> str | None:
        return None if ts is None else datetime.fromtimestamp(ts, self.zone).isoformat(timespec="seconds")

    def _document(
        self, now: float, prom_error: str | None, answers: list[WorkerAnswer], banners: list[Banner]
    ) -> dict[str, Any]:
        policy = self.settings.policy
        return {
            "generated_at": self._iso(now),
            "timezone": self.settings.timezone,
            "refresh_seconds": REFRESH_SECONDS,
            # The page colours by these (wall.js holds no threshold of its own).
            "thresholds": {
                "occupancy": list(policy.occupancy.display.values()),
                "due_soon_fraction": policy.requests.due_soon_share,
                "stale_feed_seconds": policy.feeds.stale_seconds,
                "primary_care_share_target": policy.indicators.primary_care_share_target,
            },
            "policy_hash": policy.hash,
            "sources": {
                "prometheus": {
                    "url": self.prometheus_url,
                    "ok": prom_error is None,
                    "error": prom_error,
                    "last_ok_at": self._iso(self.prometheus_last_ok),
                },
                "workers": [
                    {
                        "url": a.url,
                        "ok": a.ok,
                        "error": a.error,
                        "last_ok_at": self._iso(self.worker_last_ok.get(a.url)),
                    }
                    for a in answers
                ],
            },
            "facility_names": self.names,
            "banners": [{"what": b.what, "zh": b.zh, "en": b.en} for b in banners],
            "sections": {
                name: {
                    "stale": s.stale,
                    "reason": s.reason,
                    "updated_at": self._iso(s.updated_at),
                    "data": s.data,
                }
                for name, s in self.sections.items()
            },
        }
