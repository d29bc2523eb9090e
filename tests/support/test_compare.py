"""The comparator: how it combines workers' samples, and that it sees every kind of difference."""

from __future__ import annotations

from tests.support.compare import mismatches
from tests.support.reference import Labels

P = "medalliance_"


def key(name: str, **labels: str) -> tuple[str, Labels]:
    return (P + name, frozenset(labels.items()))


EXPECTED = {
    key("events_total", feed="beds", type="bed.admit"): 5.0,
    key("feed_last_seen_timestamp_seconds", facility="f", feed="requests"): 200.0,
    key("ed_beds", facility="f"): 24.0,
    key("request_stage_seconds_bucket", category="stroke", stage="accepted", le="600.0"): 1.0,
    key("event_delay_seconds_count", feed="beds"): 5.0,
}
# Two workers as Prometheus stores them: counters split over partitions, the request feed's
# timestamp on two partitions, the registry series from both workers, a bucket spelled "600".
SCRAPED = {
    key("events_total", feed="beds", type="bed.admit", partition="0", instance="a"): 2.0,
    key("events_total", feed="beds", type="bed.admit", partition="3", instance="b"): 3.0,
    key(
        "feed_last_seen_timestamp_seconds", facility="f", feed="requests", partition="1", instance="a"
    ): 150.0,
    key(
        "feed_last_seen_timestamp_seconds", facility="f", feed="requests", partition="2", instance="b"
    ): 200.0,
    key("ed_beds", facility="f", instance="a"): 24.0,
    key("ed_beds", facility="f", instance="b"): 24.0,
    key("request_stage_seconds_bucket", category="stroke", stage="accepted", le="600", partition="0"): 1.0,
    key("request_stage_seconds_bucket", category="stroke", stage="accepted", le="60", partition="0"): 0.0,
    key("event_delay_seconds_count", feed="beds", partition="0"): 5.0,
    key("event_delay_seconds_sum", feed="beds", partition="0"): 12.5,  # wall time: not compared
    key("consumer_lag", partition="0"): 7.0,  # not a contract metric: ignored
}


def test_agreeing_samples_give_no_mismatch() -> None:
    assert mismatches(SCRAPED, EXPECTED) == []


def test_each_kind_of_difference_is_reported() -> None:
    off = {
        **SCRAPED,
        # A registry series is not summed over workers: a third copy with another value shows.
        key("ed_beds", facility="f", instance="c"): 30.0,
        key(
            "request_stage_seconds_bucket", category="stroke", stage="accepted", le="+Inf", partition="0"
        ): 1.0,
        key("beds_occupied", facility="f", ward="w", partition="4"): 3.0,
    }
    del off[key("events_total", feed="beds", type="bed.admit", partition="3", instance="b")]
    assert sorted(mismatches(off, EXPECTED)) == sorted(
        [
            P + "ed_beds{'facility': 'f'}: got 30.0, expected 24.0",
            P + "beds_occupied{'facility': 'f', 'ward': 'w'}: got 3.0, expected 0.0",
            P + "request_stage_seconds_bucket{'category': 'stroke', 'le': '+Inf', 'stage': 'accepted'}: "
            "got 1.0, expected 0.0",
            P + "events_total{'feed': 'beds', 'type': 'bed.admit'}: got 2.0, expected 5.0",
        ]
    )


def test_a_registry_series_with_a_partition_label_is_not_the_contract_s() -> None:
    scraped = {**SCRAPED, key("ed_beds", facility="g", partition="0", instance="a"): 4.0}
    assert mismatches(scraped, EXPECTED) == [
        P + "ed_beds{'facility': 'g', 'partition': '0'}: got 4.0, expected 0.0"
    ]


def test_an_empty_label_is_no_label_as_in_prometheus() -> None:
    # The worker's page writes ward=""; Prometheus stores the series without `ward`.
    expected = {key("referrals_pending", facility="f", ward=""): 2.0}
    assert mismatches({key("referrals_pending", facility="f"): 2.0}, expected) == []
    assert mismatches({key("referrals_pending", facility="f", ward="", partition="1"): 2.0}, expected) == []
    assert mismatches({key("referrals_pending", facility="f", ward="icu"): 2.0}, expected) != []
