"""Waiting for something to become true, with a deadline: one poll loop for the package."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from conveyor.errors import Retryable

T = TypeVar("T")


class Timeout(Retryable):
    """The awaited condition did not hold before the deadline (transient: exit 75)."""


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.1,
               what: str = "the condition") -> T:
    """Call `predicate` every `interval` seconds until it returns something truthy (returned);
    raise Timeout naming `what` after `timeout` seconds. The predicate runs at least once, and
    once more at the deadline, so a slow last poll is not lost."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout(f"{what}: not after {timeout:g}s")
        time.sleep(min(interval, remaining))
