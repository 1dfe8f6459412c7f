"""Named crash points for fault-injection tests: CONVEYOR_TEST_CRASH_AT=<name> kill -9s here."""

from __future__ import annotations

import os

SIGKILL = 9  # POSIX; not signal.SIGKILL: the hooks import this, and signal imports enum


def crash_point(name: str) -> None:
    if os.environ.get("CONVEYOR_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), SIGKILL)
