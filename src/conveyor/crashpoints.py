"""Named crash points for fault-injection tests: CONVEYOR_TEST_CRASH_AT=<name> kill -9s here."""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("CONVEYOR_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
