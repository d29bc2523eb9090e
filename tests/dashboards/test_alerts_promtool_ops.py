"""promtool unit tests of the data and pipeline alerts (feeds, rejects, delay, workers, watchdog).

Times are minutes from the epoch, so `time()` in seconds is 60 x the minute.
"""

from __future__ import annotations

from pathlib import Path

from schemas import metrics as c
from schemas.policy import shipped_policy
from schemas.registry import Registry
from tests.dashboards.alert_series import (
    WORKER,
    boundary,
    expected_alert,
    info,
    names,
    run_promtool,
    series,
)

HOSPITAL = "yx-ch-people"
TOWN = "yx-thc-zhigong"
CLINIC = "yx-vc-zhigong-01"
CLINIC_2 = "yx-vc-zhigong-02"
JOB = {"job": WORKER["job"]}


def check(tmp_path: Path, input_series: list[dict[str, str]], tests: list[dict[str, object]]) -> None:
    result = run_promtool(
        tmp_path, [{"interval": "1m", "input_series": input_series, "alert_rule_test": tests}]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_feed_stale_hospital_after_five_silent_minutes(tmp_path: Path, registry: Registry) -> None:
    n = 30
    hospital, clinic = registry.facility(HOSPITAL), registry.facility(CLINIC)
    inputs = [info(hospital), info(clinic)]
    # Events every minute until minute 5 (last seen = 300 s), then silence:
    # age = 60 t - 300 > 300 from t = 11.
    beds_seen = [60 * minute for minute in range(6)] + [300] * (n - 6)
    visits_seen = [60 * minute for minute in range(n)]  # the other feed stays live
    for facility in (hospital, clinic):
        inputs.append(series(c.FACILITY_OPEN, {"facility": facility.id}, [1] * n))
        inputs.append(series(c.FEED_LAST_SEEN, {"facility": facility.id, "feed": "beds"}, beds_seen))
        inputs.append(series(c.FEED_LAST_SEEN, {"facility": facility.id, "feed": "visits"}, visits_seen))
    age_at_firing = 60 * 12 - 300
    labels = {**names(hospital), **JOB, "feed": "beds"}
    alert = expected_alert("FeedStaleHospital", labels, age_at_firing)
    check(tmp_path, inputs, boundary("FeedStaleHospital", 11, 1, [alert]))


def test_feed_stale_hospital_that_never_sent_anything(tmp_path: Path, registry: Registry) -> None:
    n = 10
    town, clinic, hospital = registry.facility(TOWN), registry.facility(CLINIC), registry.facility(HOSPITAL)
    inputs = [info(town), info(clinic), info(hospital)]
    for facility in (town, clinic, hospital):
        inputs.append(series(c.FACILITY_OPEN, {"facility": facility.id}, [1] * n))
    # The hospital publishes; the town health center and the clinic never did (only the center pages).
    seen = [60 * minute for minute in range(n)]
    inputs.append(series(c.FEED_LAST_SEEN, {"facility": HOSPITAL, "feed": "visits"}, seen))
    alert = expected_alert("FeedStaleHospital", {**names(town), "feed": "all"}, 1)
    check(tmp_path, inputs, boundary("FeedStaleHospital", 0, 1, [alert]))


def test_feed_stale_village_clinic_only_in_opening_hours(tmp_path: Path, registry: Registry) -> None:
    n = 100
    clinic, closed, hospital = (
        registry.facility(CLINIC),
        registry.facility(CLINIC_2),
        registry.facility(HOSPITAL),
    )
    inputs = [info(clinic), info(closed), info(hospital)]
    # Both clinics were last heard at time 0. CLINIC opens at minute 60; CLINIC_2 stays closed.
    # Open for the whole 10 min grace window first at minute 70, then 10 min `for:` -> fires at 80.
    inputs.append(series(c.FACILITY_OPEN, {"facility": CLINIC}, [0] * 60 + [1] * (n - 60)))
    inputs.append(series(c.FACILITY_OPEN, {"facility": CLINIC_2}, [0] * n))
    inputs.append(series(c.FACILITY_OPEN, {"facility": HOSPITAL}, [1] * n))
    for facility in (CLINIC, CLINIC_2, HOSPITAL):
        inputs.append(series(c.FEED_LAST_SEEN, {"facility": facility, "feed": "visits"}, [0] * n))
    alert = expected_alert("FeedStaleVillageClinic", {**names(clinic), **JOB, "feed": "visits"}, 80 * 60)
    check(tmp_path, inputs, boundary("FeedStaleVillageClinic", 70, 10, [alert]))


def test_rejected_events_high_including_unregistered_publishers(tmp_path: Path, registry: Registry) -> None:
    # Ten accepted events a minute; at minute 20 ten messages are rejected at once. Over the 15 min
    # window (16 samples a minute apart, no extrapolation): 150 accepted, 10 rejected -> 10/160.
    n, jump = 40, 20
    hospital = registry.facility(HOSPITAL)
    inputs = [info(hospital)]
    accepted = [1000 + 10 * minute for minute in range(n)]
    rejected = [500] * jump + [510] * (n - jump)
    inputs.append(series(c.FACILITY_EVENTS, {"facility": HOSPITAL, "feed": "visits"}, accepted))
    for facility in (HOSPITAL, "unknown"):
        labels = {"feed": "visits", "reason": "schema_violation", "facility": facility}
        inputs.append(series(c.EVENTS_REJECTED, labels, rejected))
    known = expected_alert("RejectedEventsHigh", names(hospital), 10 / 160)
    unregistered = {"facility": "unknown", "name": "未登记机构", "name_en": "unregistered facility"}
    unknown = expected_alert("RejectedEventsHigh", unregistered, 1.0)
    check(tmp_path, inputs, boundary("RejectedEventsHigh", jump, 5, [known, unknown]))


def _delay_series(n: int, change: int) -> list[dict[str, str]]:
    """60 events a minute: delay 0.05 s before minute `change`, 200 s from it (bucket 120-300 s)."""
    out = []
    for le in (*c.EVENT_DELAY.buckets, float("inf")):
        fast = [60 * min(minute, change - 1) for minute in range(n)]
        slow = [60 * max(0, minute - change + 1) for minute in range(n)]
        values = [f + (s if le >= 200 else 0) for f, s in zip(fast, slow, strict=True)]
        label = "+Inf" if le == float("inf") else f"{le:g}"
        out.append(series(c.EVENT_DELAY, {"feed": "visits", "le": label}, values, suffix="_bucket"))
    return out


def test_pipeline_delay_p95(tmp_path: Path) -> None:
    n, change = 40, 10
    # From minute 10 a fifth of the 5 min window is slow: p95 lands in the 120-300 s bucket.
    # At the firing time every event in the window is slow: p95 = 120 + 0.95 x (300 - 120) = 291 s.
    alert = expected_alert("PipelineDelayHigh", {"feed": "visits"}, 120 + 0.95 * 180)
    check(tmp_path, _delay_series(n, change), boundary("PipelineDelayHigh", change, 10, [alert]))


def test_worker_down(tmp_path: Path) -> None:
    up = {"series": f'up{{job="{WORKER["job"]}", instance="{WORKER["instance"]}"}}', "values": "1x4 0x20"}
    alert = expected_alert("WorkerDown", WORKER, 0)
    check(tmp_path, [up], boundary("WorkerDown", 5, 2, [alert]))


def test_worker_down_when_no_worker_is_scraped(tmp_path: Path) -> None:
    other = {"series": 'up{job="node", instance="x"}', "values": "1x10"}
    check(tmp_path, [other], boundary("WorkerDown", 0, 2, [expected_alert("WorkerDown", JOB, 1)]))


def test_watchdog_always_fires(tmp_path: Path) -> None:
    check(tmp_path, [], boundary("Watchdog", 0, 0, [expected_alert("Watchdog", {}, 1)]))


def test_consumer_lag_unknown_after_five_minutes(tmp_path: Path) -> None:
    # An owned partition whose high watermark stops being known at minute 3 (no fetch answers).
    shard = {"feed": "visits", "partition": "4"}
    inputs = [series(c.CONSUMER_LAG_UNKNOWN, shard, [0] * 3 + [1] * 20)]
    alert = expected_alert("ConsumerLagUnknown", {**shard, **WORKER}, 1)
    check(tmp_path, inputs, boundary("ConsumerLagUnknown", 3, 5, [alert]))


def test_consumer_stalled_when_the_offset_stands_and_messages_wait(tmp_path: Path) -> None:
    # Partition 4 consumes 100 messages a minute until minute 10, then its offset stands; from
    # minute 20 its high watermark is 50 ahead (lag 50). Partition 5 stands idle: lag 0, never an alert.
    n = 40
    stalled, idle = {"feed": "visits", "partition": "4"}, {"feed": "visits", "partition": "5"}
    inputs = [
        series(c.CONSUMER_OFFSET, stalled, [100 * min(minute, 10) for minute in range(n)]),
        series(c.CONSUMER_LAG, stalled, [0] * 20 + [50] * (n - 20)),
        series(c.CONSUMER_OFFSET, idle, [700] * n),
        series(c.CONSUMER_LAG, idle, [0] * n),
    ]
    alert = expected_alert("ConsumerStalled", {**stalled, **WORKER}, 50)
    check(tmp_path, inputs, boundary("ConsumerStalled", 20, 2, [alert]))


def test_policy_mismatch_when_the_worker_runs_another_policy(tmp_path: Path) -> None:
    n = 12
    other = "0123456789ab"  # no policy of ours: a hash the rules cannot carry
    inputs = [series(c.POLICY_INFO, {"policy_hash": other}, [1] * n)]
    alert = expected_alert("PolicyMismatch", {"policy_hash": other}, 1)
    check(tmp_path, inputs, boundary("PolicyMismatch", 0, 5, [alert]))


def test_no_policy_mismatch_when_worker_and_rules_agree(tmp_path: Path) -> None:
    n = 12
    # The rules under test were generated from the shipped policy: a worker running it is quiet.
    inputs = [series(c.POLICY_INFO, {"policy_hash": shipped_policy().hash}, [1] * n)]
    check(tmp_path, inputs, [{"eval_time": "10m", "alertname": "PolicyMismatch", "exp_alerts": []}])
