"""The one way a test waits for something: poll a condition until it holds or a deadline passes.

    >>> samples = wait_until(lambda: ready(worker.scrape()), timeout=60, what="the worker's first batch")

A fixed `sleep` is a guess about how fast the machine is; a poll with a deadline is a statement of
what the test waits for, and it fails with that statement when the wait is too long.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str | Callable[[], str],
    interval: float = 0.2,
) -> T:
    """The first truthy value `condition` returns; TimeoutError naming `what` after `timeout` s.
    `what` may be a callable, for a message worth computing only on failure (a log tail)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise TimeoutError(f"not within {timeout:g} s: {described}")
        time.sleep(interval)
