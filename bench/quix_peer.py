"""The peer of the benchmark: the same per-key counter in Quix Streams 3.28 (librdkafka, RocksDB state).

Runs only in bench/.venv (quixstreams never enters the project's environment):

    bench/.venv/bin/python bench/quix_peer.py --bootstrap 127.0.0.1:PORT --topics a,b,c \
        --group g1 --expected 200000 --out result.json

The tansu shim: tansu's DescribeConfigs returns no topic configs, and Quix derives its changelog
topic config from the source topics' `retention.ms` (TopicManager.derive_topic_config, a KeyError
without it). The shim fills in Kafka's default (7 days) where it is missing, before the derivation.
Timed from the first message seen until app.run() returns (the final checkpoint included).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from typing import Any

from quixstreams import Application
from quixstreams.models.topics.manager import TopicManager

SHIM = (
    "tansu returns no topic configs: retention.ms=604800000 (Kafka's default) is filled in before "
    "quixstreams.models.topics.manager.TopicManager.derive_topic_config derives the changelog config"
)
_KAFKA_DEFAULT_RETENTION_MS = "604800000"


def install_tansu_shim() -> None:
    original = TopicManager.derive_topic_config.__func__  # type: ignore[attr-defined]

    def derive_topic_config(cls: type[TopicManager], topics: Any) -> Any:
        topics = list(topics)
        for topic in topics:
            if topic.broker_config is not None:
                topic.broker_config.extra_config.setdefault("retention.ms", _KAFKA_DEFAULT_RETENTION_MS)
        return original(cls, topics)

    TopicManager.derive_topic_config = classmethod(derive_topic_config)  # type: ignore[method-assign, assignment]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topics", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--expected", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    install_tansu_shim()
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=tempfile.mkdtemp(prefix="bench-quix-"),
        loglevel="WARNING",
    )
    seen = {"count": 0, "first": 0.0, "last": 0.0, "cpu": 0.0}

    def count(value: Any, state: Any) -> None:
        if not seen["count"]:
            seen["first"], seen["cpu"] = time.perf_counter(), time.process_time()
        state.set("n", state.get("n", 0) + 1)
        seen["count"] += 1
        if seen["count"] >= args.expected:
            seen["last"] = time.perf_counter()
            app.stop()

    for name in args.topics.split(","):
        topic = app.topic(name, value_deserializer="json", key_deserializer="str")
        app.dataframe(topic).update(count, stateful=True)
    app.run()
    done = time.perf_counter()
    result = {
        "events": seen["count"],
        "seconds": done - seen["first"],
        "seconds_to_last_event": seen["last"] - seen["first"],
        "cpu_seconds": time.process_time() - seen["cpu"],
        "shim": SHIM,
    }
    with open(args.out, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
