"""Local runs take turns on this machine: oldest first, dependencies before dependents.

A run waits while an older run is queued, or while a run of a service it needs (its
integration dependencies, transitively) is queued: so on a push that changes both services,
password-strength is built, tested and promoted before gateway's integration and promotion
look for it. A queued run whose process died is skipped (its pid file names a dead process).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator

from conveyor import state
from conveyor.config.model import Config
from conveyor.records import runs
from conveyor.util import locks
from conveyor.util.wait import wait_until

POLL_SECONDS = 0.5
START_GRACE_SECONDS = 120.0  # a run queued by the executor has this long to start its process


def needs(config: Config, service: str) -> set[str]:
    """The services `service` needs to be running for its integration stage, transitively."""
    seen: set[str] = set()
    todo = list(config.pipeline(service).integration.needs)
    while todo:
        name = todo.pop()
        if name not in seen and name in config.pipelines:
            seen.add(name)
            todo.extend(config.pipelines[name].integration.needs)
    return seen


def pid_file(run_id: str) -> str:
    return str(state.subdir("runs", run_id) / "pid")


def is_alive(run_id: str, queued_at: float) -> bool:
    try:
        with open(pid_file(run_id)) as file:
            pid = int(file.read().strip() or 0)
    except (OSError, ValueError):
        return time.time() - queued_at < START_GRACE_SECONDS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def whose_turn(config: Config, queued: list[tuple[str, str, float]]) -> str | None:
    """The run id that may go next among queued (run id, service, queued at), oldest first."""
    waiting = {service for _, service, _ in queued}
    for run_id, service, _ in queued:
        if service in config.pipelines and needs(config, service) & (waiting - {service}):
            continue
        return run_id
    return None


def _queued(config: Config) -> list[tuple[str, str, float]]:
    return [(run_id, service, queued_at) for run_id, service, queued_at in runs.queued_local()
            if is_alive(run_id, queued_at)]


@contextlib.contextmanager
def turn(config: Config, run_id: str, on_wait: Callable[[], None]) -> Iterator[None]:
    """Wait for this run's turn and hold the machine-wide run lock while it runs."""
    with open(pid_file(run_id), "w") as file:
        file.write(f"{os.getpid()}\n")
    lock = locks.open_lock(state.subdir("locks") / "local-runs.lock")
    told = False

    def my_turn() -> bool:
        nonlocal told
        if whose_turn(config, _queued(config)) in (run_id, None) and locks.try_lock(lock):
            return True
        if not told:
            on_wait()
            told = True
        return False

    try:
        wait_until(my_turn, math.inf, POLL_SECONDS, f"the turn of {run_id}")
        yield
    finally:
        os.close(lock)
