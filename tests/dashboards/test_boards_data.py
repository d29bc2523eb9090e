"""Every dashboard query against real data: a real worker fed by the simulator, scraped by a real
Prometheus that loads deploy/prometheus/rules/*.yml.

Three hours of the simulated alliance are published in two batches (so counters and histograms
move between scrapes), with two conditions the wall must show: the second county hospital's beds
feed silent for the last 10 minutes (stale), and the `overdue-request` scenario (three requests to
the first county hospital never accepted); visits after local midnight are put in at any hour
(tests/support/clock.py), so that "today" has figures at 03:00 too. Every panel target and the
`$facility` variable query then run as Grafana would send them; stale-aware figures are checked
against the expected stale set, and every contract series Prometheus stores against the
independent reference (tests/support/reference.py, by the one comparator tests/support/compare.py).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dashboards.alerts import PRODUCTION, RULES_DIR, prometheus_config
from dashboards.boards import FACILITY_UID, OVERVIEW_UID, REFERRALS_UID, dashboard_models
from schemas.policy import shipped_policy
from schemas.registry import Registry
from streams.broker import ensure_topics, free_port
from streams.process import wait_until
from streams.prometheus import PrometheusProcess
from streams.publish import event_message, publish_events
from streams.settings import Settings
from streams.simulate.alliance import generate
from streams.simulate.wire import feed_of_event
from streams.worker_process import SampleKey, WorkerProcess
from tests.support.clock import SCRAPE_ATTEMPTS, visits_today, wait_past_midnight
from tests.support.compare import mismatches
from tests.support.reference import Published, expected_metrics
from tests.support.reference_indicators import down_up_ratio, primary_care_share
from tests.support.referral_events import referral_event
from tests.support.stack import PROJECT_ROOT

POLICY = shipped_policy()

pytestmark = pytest.mark.slow

HISTORY = timedelta(hours=3)
SPLIT_BEFORE = timedelta(minutes=30)  # older events first; the last 30 min after Prometheus has scraped
HEARTBEATS_KEPT = timedelta(minutes=3)  # older heartbeats change no figure: drop them to keep the test fast
SILENT_FOR = timedelta(minutes=10)  # > the 5 min after which a feed is stale
# The scenario's requests are 52-57 min old: past the 10 min accept standard, not the 60 min arrival one.
OVERDUE_AGO = timedelta(minutes=57)
STALE_AFTER = 300.0
SCRAPE = "1s"
SCRAPE_SECONDS = 1.0
# Recording rules read each other across groups: a few evaluations after the data let them chain.
RULE_ROUNDS = 3
SEED = 11
SCRAPE_SLACK = timedelta(seconds=2)
RANGE_WINDOW = 120  # seconds of data a range query covers (Prometheus only has this test's samples)
MACROS = {"$__rate_interval": "1m", "$__range": "3h"}

# Panels with no data in these conditions, and why (anything else must return data).
EXPECTED_EMPTY = {
    "拒收事件 / Rejected events/s by reason and facility": "the simulator publishes only valid events",
    "拒收明细 / Rejections in the range": "the simulator publishes only valid events",
    "重复事件 / Duplicate events/s": "the simulator never repeats an event_id",
    "床位余量 / Bed runway": "absent unless county occupancy is rising over the last hour: "
    "Prometheus has only this test's minute of samples",
    "30天达标率 / Within standard, 30 days": "the 30-day window rules are evaluated every 5 minutes: "
    "none has run in this test's minute (tests/dashboards/test_alerts_promtool_centers.py checks them)",
    "30天绕行比例 / Bypass shares, 30 days": "the same 30-day window rules",
    # Ratios over increase(): no answer unless an acceptance is applied while this test's Prometheus
    # scrapes (about a minute); tests/dashboards/test_boards_referrals.py checks each on the rule engine.
    "接收用时 / Time to accept by direction": "the mean: increase() of the stage-time sum over its count",
    "接收与到达 / Accepted, arrived and late": "arrived per accepted: increase() of one count over another",
}


def production_prometheus(worker_port: int) -> str:
    """The production rules as committed, scraped every second so the test's minute has samples."""
    rules = PROJECT_ROOT / "deploy" / "prometheus" / RULES_DIR
    assert list(rules.glob("*.yml")), "run `medalliance generate`: no rule files"
    return prometheus_config(
        PRODUCTION,
        workers=[f"127.0.0.1:{worker_port}"],
        alertmanagers=[],
        rules_dir=str(rules),
        scrape_interval_seconds=int(SCRAPE_SECONDS),
    )


def simulated(registry: Registry, now: datetime, stale_hospital: str) -> list[dict[str, Any]]:
    """Three hours of the alliance with one beds feed cut 10 min ago and three unanswered requests."""
    events = generate(
        registry,
        seed=SEED,
        start=now - HISTORY,
        duration=HISTORY,
        scenario="overdue-request",
        scenario_at=HISTORY - OVERDUE_AGO,
        scenario_length=HISTORY,  # never ends: the requests stay open
    )
    kept = []
    for event in events:
        at = datetime.fromisoformat(event["occurred_at"])
        if event["type"] == "heartbeat" and at < now - HEARTBEATS_KEPT:
            continue
        if (event["facility_id"], feed_of_event(event)) == (
            stale_hospital,
            "beds",
        ) and at >= now - SILENT_FOR:
            continue
        kept.append(event)
    extra = visits_today(registry, seed=SEED, now=now) + referral_edges(now)
    return sorted(kept + extra, key=lambda e: e["occurred_at"])


def referral_edges(now: datetime) -> list[dict[str, Any]]:
    """What three simulated hours rarely hold, by hand: an up-referral accepted 125 min after its
    request (the up limit is 120: late), one never answered for 150 min and one to a hospital
    outside the county unanswered for 25 h (limit 24 h): both expired."""

    def event(name: str, kind: str, facility: str, ago: timedelta, **fields: Any) -> dict[str, Any]:
        return referral_event(f"referral.{kind}", facility, now - ago, f"board-{name}", **fields)

    up = {"to_facility_id": "yx-ch-people", "reason": "beyond_capability", "department": "心血管内科"}
    return [
        event("late", "requested", "yx-thc-shaba", timedelta(minutes=170), **up, target_ward_id="cardiology"),
        event("late", "accepted", "yx-ch-people", timedelta(minutes=45)),
        event("expired", "requested", "yx-thc-rudong", timedelta(minutes=150), **up),
        event(
            "outside", "requested", "yx-ch-people", timedelta(hours=25), to_external_code="gz-sysu-first",
            to_external_scope="out_of_county", reason="specialist", department="心外科",
        ),
    ]  # fmt: skip


def publish(settings: Settings, events: list[dict[str, Any]]) -> list[Published]:
    log, raw = [], []
    for event in events:
        _, key, value = event_message(settings, event)
        feed = feed_of_event(event)
        log.append(Published(feed=feed, key=key, value=value, reason=None))
        raw.append((feed, value))
    publish_events(settings, raw)  # the very bytes the reference replays
    return log


def handled(prometheus: PrometheusProcess) -> float:
    names = "medalliance_events_total|medalliance_events_duplicate_total|medalliance_events_rejected_total"
    result = prometheus.query(f'sum({{__name__=~"{names}"}})')
    return float(result[0]["value"][1]) if result else 0.0


def wait_scraped(prometheus: PrometheusProcess, total: int, timeout: float = 60.0) -> None:
    wait_until(
        lambda: handled(prometheus) >= total, timeout=timeout, interval=0.5,
        what=lambda: f"Prometheus saw {handled(prometheus)} of {total} events",
    )  # fmt: skip


def scrapes(prometheus: PrometheusProcess) -> float:
    """How many times Prometheus has scraped the worker."""
    result = prometheus.query('count_over_time(up{job="medalliance-worker"}[1h])')
    return float(result[0]["value"][1]) if result else 0.0


def wait_more_scrapes(prometheus: PrometheusProcess, count: int) -> None:
    done = scrapes(prometheus)
    wait_until(lambda: scrapes(prometheus) >= done + count, timeout=30, what=f"{count} more scrapes")


def wait_rule_rounds(prometheus: PrometheusProcess, rounds: int) -> None:
    """Until every rule group evaluated at the scrape interval has been evaluated `rounds` times
    after now (a group with its own, longer interval, e.g. the centers' 30-day window, runs every
    few minutes: no panel here reads it)."""
    after = time.time() + rounds * SCRAPE_SECONDS

    def evaluated() -> bool:
        groups = prometheus.get_json("/api/v1/rules")["data"]["groups"]
        every_scrape = [group for group in groups if group["interval"] <= SCRAPE_SECONDS]
        return bool(every_scrape) and all(
            datetime.fromisoformat(group["lastEvaluation"]).timestamp() >= after for group in every_scrape
        )

    wait_until(evaluated, timeout=30, what=f"{rounds} evaluations of every rule group")


def run(
    prometheus: PrometheusProcess, target: dict[str, Any], macros: dict[str, str]
) -> list[dict[str, Any]]:
    expr = target["expr"]
    for macro, value in macros.items():
        expr = expr.replace(macro, value)
    if target.get("instant"):
        return prometheus.query(expr)
    end = time.time()
    params = {"query": expr, "start": str(end - RANGE_WINDOW), "end": str(end), "step": "5"}
    body = prometheus.get_json("/api/v1/query_range", **params)
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def resolve_variable(prometheus: PrometheusProcess, variable: dict[str, Any]) -> dict[str, str]:
    """What Grafana does with `query_result(expr)` and the regex: value -> text options."""
    inner = re.fullmatch(r"query_result\((.*)\)", variable["query"])
    assert inner, variable["query"]
    pattern = re.compile(variable["regex"].strip("/").replace("(?<", "(?P<"))
    options = {}
    for series in prometheus.query(inner.group(1)):
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted(series["metric"].items()))
        match = pattern.search("{" + labels + "} " + " ".join(map(str, series["value"])))
        assert match, labels
        options[match.group("value")] = match.group("text")
    return options


def panel(uid: str, title_start: str) -> dict[str, Any]:
    return next(p for p in dashboard_models(POLICY)[uid]["panels"] if p["title"].startswith(title_start))


def by_ref(prometheus: PrometheusProcess, found: dict[str, Any], macros: dict[str, str]) -> dict[str, Any]:
    # A text panel has no targets.
    return {target["refId"]: run(prometheus, target, macros) for target in found.get("targets", [])}


def expected_stale(
    reference: dict[Any, float], registry: Registry, settings: Settings
) -> set[tuple[str, str]]:
    now = datetime.now(UTC)
    local = now.astimezone(ZoneInfo(settings.timezone))
    stale = set()
    for (name, labels), value in reference.items():
        if name == "medalliance_feed_last_seen_timestamp_seconds":
            facility, feed = dict(labels)["facility"], dict(labels)["feed"]
            hours = registry.facility(facility).opening_hours  # None: publishes around the clock
            if now.timestamp() - value > STALE_AFTER and (hours is None or hours.is_open(local)):
                stale.add((facility, feed))
    return stale


def test_every_panel_query_returns_data(settings: Settings, registry: Registry, tmp_path: Path) -> None:
    hospitals = [f.id for f in registry.facilities.values() if f.level == "county_hospital"]
    first_hospital, stale_hospital = hospitals[0], hospitals[1]
    now = wait_past_midnight()
    events = simulated(registry, now, stale_hospital)
    split = now - SPLIT_BEFORE
    older = [e for e in events if datetime.fromisoformat(e["occurred_at"]) < split]
    newer = events[len(older) :]
    ensure_topics(settings)
    worker = WorkerProcess(settings, tmp_path).start()
    with PrometheusProcess(
        production_prometheus(worker.web_port), free_port(), workdir=tmp_path / "prom"
    ) as prometheus:
        assert isinstance(prometheus, PrometheusProcess)
        try:
            worker.wait_ready()
            log = publish(settings, older)
            wait_scraped(prometheus, len(log))
            wait_more_scrapes(prometheus, 2)  # at the first batch's level, so the second one is an increase
            log += publish(settings, newer)
            wait_scraped(prometheus, len(log))
            wait_rule_rounds(prometheus, RULE_ROUNDS)
            check_all_targets(prometheus, registry, first_hospital)
            check_staleness(prometheus, registry, settings, log, stale_hospital, hospitals)
            check_stale_twins(prometheus, stale_hospital)
            check_figures(prometheus, registry, settings, log, first_hospital)
            check_stored_series(prometheus, log)
        finally:
            worker.stop()


def check_all_targets(prometheus: PrometheusProcess, registry: Registry, facility: str) -> None:
    variable = dashboard_models(POLICY)[FACILITY_UID]["templating"]["list"][0]
    options = resolve_variable(prometheus, variable)
    assert options == {f.id: f.name for f in registry.facilities.values()}
    macros = {**MACROS, "$facility": facility}
    empty = []
    for uid, model in dashboard_models(POLICY).items():
        for found in model["panels"]:
            results = by_ref(prometheus, found, macros)  # raises on any PromQL error
            stale_aware = any("停更 stale" in t.get("legendFormat", "") for t in found.get("targets", []))
            if stale_aware:  # the figure is shown, current (A) or greyed (B); C is its data age
                if not (results["A"] or results["B"]):
                    empty.append(found["title"])
                    assert found["title"] in EXPECTED_EMPTY, (uid, found["title"])
                for ref in set(results) - {"A", "B"}:
                    assert results[ref], (uid, found["title"], ref)
                continue
            missing = [ref for ref, result in results.items() if not result]
            if missing:
                empty.append(found["title"])
                assert found["title"] in EXPECTED_EMPTY, (uid, found["title"], missing)
    print(f"panels empty as expected: {sorted(set(empty))}")


def check_staleness(
    prometheus: PrometheusProcess,
    registry: Registry,
    settings: Settings,
    log: list[Published],
    stale_hospital: str,
    hospitals: list[str],
) -> None:
    reference = expected_metrics(log, now=datetime.now(UTC))
    expected = expected_stale(reference, registry, settings)
    assert (stale_hospital, "beds") in expected
    table = by_ref(prometheus, panel(OVERVIEW_UID, "停更数据流明细"), MACROS)
    assert {(r["metric"]["facility"], r["metric"]["feed"]) for r in table["A"]} == expected
    for row in table["B"]:  # last seen, in ms, = the reference's last event time
        labels = frozenset({("facility", row["metric"]["facility"]), ("feed", row["metric"]["feed"])})
        last = reference[("medalliance_feed_last_seen_timestamp_seconds", labels)]
        assert float(row["value"][1]) == pytest.approx(last * 1000)
    occupancy = by_ref(prometheus, panel(OVERVIEW_UID, "县级医院床位使用率"), MACROS)
    assert {r["metric"]["facility"] for r in occupancy["B"]} == {stale_hospital}
    assert {r["metric"]["facility"] for r in occupancy["A"]} == set(hospitals) - {stale_hospital}
    free = by_ref(prometheus, panel(OVERVIEW_UID, "全县空余床位"), MACROS)
    assert not free["A"] and free["B"], "a county figure with a silent hospital feed must be grey"
    assert float(free["C"][0]["value"][1]) > SILENT_FOR.total_seconds()
    visits = by_ref(prometheus, panel(OVERVIEW_UID, "今日门急诊人次"), MACROS)
    assert visits["A"] and not visits["B"], "the visits feeds are all current"
    assert float(visits["C"][0]["value"][1]) < STALE_AFTER


def stored(prometheus: PrometheusProcess) -> dict[SampleKey, float]:
    """Every raw medalliance_ series Prometheus holds now (recording rules have a colon: not these)."""
    samples: dict[SampleKey, float] = {}
    for row in prometheus.query('{__name__=~"medalliance_.+"}'):
        labels = frozenset((k, v) for k, v in row["metric"].items() if k != "__name__")
        samples[(row["metric"]["__name__"], labels)] = float(row["value"][1])
    return samples


def check_stored_series(prometheus: PrometheusProcess, log: list[Published]) -> None:
    """What the alerts and boards read equals the reference, series by series (tests/support/compare.py).
    Prometheus' latest sample is up to SCRAPE_SLACK old: the reference is read at both ends of that
    window, and the comparison taken again if a clock boundary fell inside it."""
    for _ in range(SCRAPE_ATTEMPTS):
        earliest = expected_metrics(log, now=datetime.now(UTC) - SCRAPE_SLACK)
        samples = stored(prometheus)
        latest = expected_metrics(log, now=datetime.now(UTC))
        if earliest == latest:
            problems = mismatches(samples, latest)
            assert problems == [], "\n".join(problems)
            return
    raise AssertionError(f"the reference changed across each of {SCRAPE_ATTEMPTS} readings")


def check_stale_twins(prometheus: PrometheusProcess, stale_hospital: str) -> None:
    """Every greyable figure, by what it returns: the current part (A) and the stale part (B) never
    show the same series twice, a facility's series is grey exactly when it is the silent hospital,
    and the stale part reads the same figure, so A and B for the same labels never both exist."""
    for found in dashboard_models(POLICY)[OVERVIEW_UID]["panels"]:
        twin = next((t for t in found["targets"] if t["refId"] == "B"), {})
        if "停更 stale" not in twin.get("legendFormat", ""):
            continue
        results = by_ref(prometheus, found, MACROS)
        current = [frozenset(r["metric"].items()) for r in results["A"]]
        grey = [frozenset(r["metric"].items()) for r in results["B"]]
        assert not set(current) & set(grey), found["title"]
        for labels in current + grey:
            facility = dict(labels).get("facility")
            if facility is not None:
                assert (facility == stale_hospital) == (labels in grey), (found["title"], facility)


def overdue_sum(reference: dict[Any, float], **match: str) -> float:
    return sum(
        value
        for (name, labels), value in reference.items()
        if name == "medalliance_requests_overdue" and match.items() <= dict(labels).items()
    )


def check_figures(
    prometheus: PrometheusProcess, registry: Registry, settings: Settings, log: list[Published], facility: str
) -> None:
    reference = expected_metrics(log, now=datetime.now(UTC))

    def ref_sum(name: str, **match: str) -> float:
        return sum(
            v for (n, labels), v in reference.items() if n == name and match.items() <= dict(labels).items()
        )

    staffed = {labels: v for (n, labels), v in reference.items() if n == "medalliance_beds_staffed"}
    occupied = {labels: v for (n, labels), v in reference.items() if n == "medalliance_beds_occupied"}
    free_beds = sum(
        max(staffed.get(ward, 0.0) - occupied.get(ward, 0.0), 0.0) for ward in staffed.keys() | occupied
    )
    free = by_ref(prometheus, panel(OVERVIEW_UID, "全县空余床位"), MACROS)
    assert float(free["B"][0]["value"][1]) == free_beds
    ed = by_ref(prometheus, panel(OVERVIEW_UID, "急诊在院患者"), MACROS)
    shown = {r["metric"]["triage_level"]: float(r["value"][1]) for r in ed["A"]}
    expected = {
        level: ref_sum("medalliance_ed_patients", triage_level=level)
        for level in ("1", "2", "3", "4", "untriaged")
        if ref_sum("medalliance_ed_patients", triage_level=level)
    }
    assert {k: v for k, v in shown.items() if v} == expected
    # Overdue depends on the clock: the worker read it at the last scrape, up to SCRAPE_SLACK ago.
    earlier = expected_metrics(log, now=datetime.now(UTC) - SCRAPE_SLACK)
    overdue = by_ref(prometheus, panel(OVERVIEW_UID, "超时高危申请"), MACROS)
    to_first = by_ref(prometheus, panel(FACILITY_UID, "转入申请超时"), {**MACROS, "$facility": facility})
    counts = (float(overdue["A"][0]["value"][1]), float(to_first["A"][0]["value"][1]))
    candidates = [(overdue_sum(ref), overdue_sum(ref, to_facility=facility)) for ref in (reference, earlier)]
    assert counts in candidates and counts[1] >= 3, (counts, candidates)
    check_indicators(prometheus, reference)


def check_indicators(prometheus: PrometheusProcess, reference: dict[Any, float]) -> None:
    """基层诊疗量占比 (the recording rules, as the wall and the dashboard read them) and down per up (the
    dashboard's query) equal the reference's formulas over the same log. A rule answers at its next
    evaluation after the last scrape: wait for it, then compare."""
    wanted = {
        "medalliance:primary_care_visit_share:today": primary_care_share(reference, "today"),
        "medalliance:primary_care_visit_share:month": primary_care_share(reference, "month"),
    }
    assert all(value is not None for value in wanted.values()), "the log holds visits today by construction"

    def shown() -> dict[str, float | None]:
        answers = {expr: prometheus.query(expr) for expr in wanted}
        return {expr: float(result[0]["value"][1]) if result else None for expr, result in answers.items()}

    deadline = time.monotonic() + 60
    figures = shown()
    while time.monotonic() < deadline and figures != pytest.approx(wanted, abs=1e-9):
        time.sleep(1)
        figures = shown()
    assert figures == pytest.approx(wanted, abs=1e-9)
    ratio = by_ref(prometheus, panel(REFERRALS_UID, "下转/上转"), MACROS)["A"]
    want_ratio = down_up_ratio(reference, "month")
    if want_ratio is None:  # no up-referral this month yet (just after the 1st's midnight): no answer
        assert ratio == [], ratio
    else:
        assert ratio and float(ratio[0]["value"][1]) == pytest.approx(want_ratio), (ratio, want_ratio)
