"""Summaries of a py-spy raw profile (collapsed stacks: `frame;frame;... count` per line).

    >>> summary = summarize(Path("profile.txt"))
    >>> summary["inclusive"]["decode (schemas)"]      # share of samples with decode() on the stack

py-spy frames read `function (path/file.py:line)`; the line number is dropped so that a function
is counted once whatever line it was sampled at.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Final

_LINE: Final = re.compile(r":\d+\)$")
# (label, function name, file substring): what the question "where does the time go" needs.
MARKERS: Final = (
    ("handle_batch (agents)", "handle_batch", "streams/agents.py"),
    ("process_batch (domain)", "process_batch", "streams/domain/pipeline.py"),
    ("decode (schemas)", "decode", "schemas/decode.py"),
    ("  pydantic model_validate", "model_validate", "pydantic/main.py"),
    ("dedupe.first_sighting", "first_sighting", "streams/domain/dedupe.py"),
    ("  blake2b id_hash", "id_hash", "streams/domain/dedupe.py"),
    ("entity apply (_apply_to_entity)", "_apply_to_entity", "streams/domain/pipeline.py"),
    ("effects (apply_effects)", "apply_effects", "streams/domain/effects.py"),
    ("state writes (WriteBack.flush)", "flush", "streams/domain/writeback.py"),
    ("  table __setitem__ (mode ManagedUserDict)", "__setitem__", "mode/utils/collections.py"),
    ("  changelog send (faust send_changelog)", "send_changelog", "faust/tables/base.py"),
    ("faust ProducerBuffer (changelog queue)", "", "faust/transport/producer.py"),
    ("expiry sweep (maybe_sweep)", "maybe_sweep", "streams/sweep.py"),
    ("dead-letter send", "send", "faust/topics.py"),
    ("scrape (page.render)", "render", "streams/metrics/page.py"),
    ("faust stream iteration (take_events)", "take_events", "faust/streams.py"),
    ("aiokafka fetcher", "", "aiokafka/consumer/fetcher.py"),
    ("aiokafka producer (sender, produce requests)", "", "aiokafka/producer/"),
    ("socket writes (asyncio transport.write)", "write", "asyncio/selector_events.py"),
    ("orjson codec dumps (state values)", "_dumps", "streams/codec.py"),
    ("event loop idle (select)", "select", "selectors.py"),
)


def _function(frame: str) -> str:
    return _LINE.sub(")", frame)


def read_stacks(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append(([_function(f) for f in frames.split(";")], int(count)))
    return stacks


def _matches(frame: str, function: str, file: str) -> bool:
    name = frame.split(" (", 1)[0]  # py-spy names methods Class.method
    named = not function or name == function or name.endswith("." + function)
    return named and (not file or file in frame)


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    stacks = read_stacks(path)
    total = sum(count for _, count in stacks) or 1
    inclusive: dict[str, float] = {}
    for label, function, file in MARKERS:
        hits = sum(count for frames, count in stacks if any(_matches(f, function, file) for f in frames))
        inclusive[label] = round(100.0 * hits / total, 1)
    own: Counter[str] = Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
    return {
        "samples": total,
        "inclusive": inclusive,
        "self": [(frame, round(100.0 * count / total, 1)) for frame, count in own.most_common(top)],
    }
