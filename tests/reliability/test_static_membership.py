"""Static group membership (KIP-345, MEDALLIANCE_GROUP_INSTANCE_ID): the trade-off it documents.

A static member sends no LeaveGroup when it stops (aiokafka), so the broker keeps its partitions for
it a full session timeout in case it comes back: when a worker is *removed* for good, its partitions
move to the others only after that wait (docs/scaling.md). The restart side of the trade — a
killed static worker rejoining under its id — is in test_kill.py. Afterwards the sums over the
remaining worker equal the reference.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Final

import pytest

from schemas.registry import Registry
from streams.broker import Broker, ensure_topics
from streams.worker_process import WorkerProcess
from tests.conftest import broker_settings
from tests.reliability.harness import fault_log, handled, merged_scrape, publish, settled_mismatches
from tests.reliability.test_rebalance import wait_all_handled, wait_spread

logger = logging.getLogger(__name__)
# The wait is the session timeout, less the heartbeat interval the broker may round it by.
WAIT_SHARE: Final = 0.75


@pytest.mark.slow
def test_a_removed_static_worker_holds_its_partitions_a_session_timeout(
    broker: Broker, registry: Registry, tmp_path: Path
) -> None:
    settings = broker_settings(broker, f"static-{time.monotonic_ns()}")
    ensure_topics(settings)
    log = fault_log(registry, seed=47)
    half = len(log) // 2
    staying, leaving = (
        WorkerProcess(
            settings.model_copy(update={"group_instance_id": f"static-{n}"}), tmp_path, name=f"s{n}"
        )
        for n in (1, 2)
    )
    try:
        staying.start()
        leaving.start()
        wait_spread([staying, leaving], settings)
        publish(settings, log[:half])
        wait_all_handled([staying, leaving], half)
        leaving.stop()
        removed_at = time.monotonic()
        publish(settings, log[half:])
        wait_spread([staying], settings, timeout=3 * settings.session_timeout_seconds + 30)
        moved_after = time.monotonic() - removed_at  # from the stop, not from the publish
        wait_all_handled([staying], len(log))
        samples, problems = settled_mismatches(lambda: merged_scrape([staying]), log)
    finally:
        staying.stop()
        leaving.stop()
    logger.warning(
        "static membership: a removed worker's partitions moved %.1f s after it stopped (session %.0f s)",
        moved_after, settings.session_timeout_seconds,
    )  # fmt: skip
    assert moved_after >= WAIT_SHARE * settings.session_timeout_seconds
    assert handled(samples) == len(log)
    assert problems == []
