"""The hand-written text format reads back, through prometheus_client's own parser (`parse_metrics`),
as what was put in."""

from __future__ import annotations

import math
import re
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from schemas.metrics import BEDS_OCCUPIED, EVENT_DELAY, EVENTS, FACILITY_INFO
from streams.metrics.exposition import Exposition, sample_lines
from streams.worker_process import parse_metrics


def test_gauges_counters_and_awkward_label_values_read_back() -> None:
    page = Exposition()
    awkward = 'say "hi"\\ or\nnot 阳西'
    page.add(FACILITY_INFO, ("f1", awkward, "Name", "county_hospital", "zhijing"), 1.0)
    page.add(EVENTS, ("beds", "bed.admit", "3"), 12.0)
    page.add(BEDS_OCCUPIED, ("f1", "icu", "0"), 1.5e12)
    parsed = parse_metrics(page.render().decode())
    assert parsed == {
        (
            FACILITY_INFO.name,
            frozenset(
                {
                    ("facility", "f1"),
                    ("name", awkward),
                    ("name_en", "Name"),
                    ("level", "county_hospital"),
                    ("township", "zhijing"),
                }
            ),
        ): 1.0,
        (EVENTS.name, frozenset({("feed", "beds"), ("type", "bed.admit"), ("partition", "3")})): 12.0,
        (BEDS_OCCUPIED.name, frozenset({("facility", "f1"), ("ward", "icu"), ("partition", "0")})): 1.5e12,
    }


def test_a_histogram_has_cumulative_buckets_count_and_sum() -> None:
    counts = [1] * len(EVENT_DELAY.buckets) + [2]  # one per bucket, two above the last bound
    page = Exposition()
    page.add(EVENT_DELAY, ("visits", "1"), (counts, 99.5))
    parsed = parse_metrics(page.render().decode())
    base = {("feed", "visits"), ("partition", "1")}
    for index, bound in enumerate(EVENT_DELAY.buckets):
        le = frozenset(base | {("le", str(bound))})
        assert parsed[(f"{EVENT_DELAY.name}_bucket", le)] == index + 1
    total = len(EVENT_DELAY.buckets) + 2
    assert parsed[(f"{EVENT_DELAY.name}_bucket", frozenset(base | {("le", "+Inf")}))] == total
    assert parsed[(f"{EVENT_DELAY.name}_count", frozenset(base))] == total
    assert parsed[(f"{EVENT_DELAY.name}_sum", frozenset(base))] == 99.5


def test_special_values_and_wrong_label_counts() -> None:
    lines = sample_lines(BEDS_OCCUPIED, ("f", "w", "0"), math.inf)
    assert lines[0].endswith(" +Inf")
    with pytest.raises(ValueError, match="partition"):
        sample_lines(BEDS_OCCUPIED, ("f", "w"), 1.0)


def test_every_family_is_declared_on_a_page_without_samples() -> None:
    # A night with no visit and no request yet: the page still declares those families.
    page = Exposition().render().decode()
    declared = dict(re.findall(r"^# TYPE (\S+) (\S+)$", page, flags=re.MULTILINE))
    night_empty = {
        "medalliance_visits_total": "counter",
        "medalliance_visits_today": "gauge",
        "medalliance_ed_patients": "gauge",
        "medalliance_requests_open": "gauge",
        "medalliance_request_stage_seconds": "histogram",
        "medalliance_requests_due_soon": "gauge",
        "medalliance_requests_overdue": "gauge",
    }
    assert night_empty.items() <= declared.items()
    families = {family.name: family for family in text_string_to_metric_families(page)}
    assert {"medalliance_visits", "medalliance_request_stage_seconds"} <= families.keys()
    assert not any(family.samples for family in families.values())
    checked = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
