"""Events on the wire: their bytes, topic and key (EVENTS.md, Transport).

>>> topic, key = route(event, settings)     # ('medalliance.beds', 'yx-ch-people')
>>> producer.send(topic, encode(event), key=key.encode())
"""

from __future__ import annotations

from typing import Any

import orjson

from schemas.events import TYPE_FEED, Feed, key_of
from streams.settings import Settings


def encode(event: dict[str, Any]) -> bytes:
    """The message value: compact UTF-8 JSON."""
    return orjson.dumps(event)


def feed_of_event(event: dict[str, Any]) -> Feed:
    """The feed of an event dict: that of its type; a heartbeat's is its `feed` field."""
    kind = event.get("type")
    if kind == "heartbeat":
        feed = event.get("feed")
        if feed in ("beds", "visits", "requests"):
            return feed  # type: ignore[return-value]
        raise ValueError("heartbeat without a valid feed")
    if not isinstance(kind, str) or kind not in TYPE_FEED:
        raise ValueError(f"unknown event type {kind!r}")
    return TYPE_FEED[kind]


def message_key(event: dict[str, Any]) -> str:
    """request_id, case_id or referral_id for those events, facility_id otherwise."""
    return str(key_of(event))


def route(event: dict[str, Any], settings: Settings) -> tuple[str, str]:
    """(topic, key) of an event dict under the configured topic names."""
    return settings.topic(feed_of_event(event)), message_key(event)
