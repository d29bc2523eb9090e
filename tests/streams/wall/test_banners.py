"""The banner names what is down, causes before consequences, one line each."""

from __future__ import annotations

from streams.wall.banners import Outages, outage_banners


def whats(outages: Outages) -> list[str]:
    return [banner.what for banner in outage_banners(outages)]


def test_nothing_wrong_means_no_banner() -> None:
    assert outage_banners(Outages(prometheus_url="http://127.0.0.1:9090")) == []


def test_prometheus_down_says_since_when() -> None:
    [banner] = outage_banners(
        Outages(
            prometheus_url="http://p:9090", prometheus_error="connection refused", prometheus_since="16:02:03"
        )
    )
    assert banner.what == "prometheus"
    assert "Prometheus 无响应" in banner.zh and "16:02:03" in banner.zh
    assert banner.en == "Prometheus not answering (http://p:9090, connection refused); numbers as of 16:02:03"


def test_a_dead_worker_is_announced_once_not_again_as_a_scrape_target_or_missing_partitions() -> None:
    outages = Outages(
        dead_workers=[("http://127.0.0.1:6066", "connection refused")],
        targets_down=["127.0.0.1:6066"],
        incomplete_feeds={"beds": (0, 8)},
        missing_request_partitions=[0, 1],
    )
    assert whats(outages) == ["worker"]


def test_a_scrape_target_down_that_the_wall_does_not_read_gets_its_own_banner() -> None:
    outages = Outages(targets_down=["10.0.0.7:6066"], incomplete_feeds={"beds": (4, 8)})
    banners = outage_banners(outages)
    assert [b.what for b in banners] == ["target"]
    assert "10.0.0.7:6066" in banners[0].en


def test_incomplete_data_without_a_known_cause_is_still_announced() -> None:
    outages = Outages(incomplete_feeds={"beds": (6, 8), "visits": (8, 8)}, missing_request_partitions=[3])
    banners = outage_banners(outages)
    assert [b.what for b in banners] == ["coverage", "requests"]
    assert "beds 6/8" in banners[0].en and "3" in banners[1].en


def test_stale_feeds_come_last() -> None:
    outages = Outages(prometheus_error="HTTP 503", stale_feeds=3, stale_feed_minutes=5)
    banners = outage_banners(outages)
    assert [b.what for b in banners] == ["prometheus", "feeds"]
    assert banners[1].zh == "3 个数据源超过 5 分钟未更新"
