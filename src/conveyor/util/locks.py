"""Advisory file locks (flock): builds, registry start, one promotion per environment.

A lock dies with its holder (the kernel drops it when the process exits, even on kill -9),
so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from conveyor import state
from conveyor.errors import Refusal

POLL_SECONDS = 0.1


@contextlib.contextmanager
def hold(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path`, waiting as long as it takes; `on_wait` is called
    once if someone else holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def named_lock(name: str, *, wait: bool = False, timeout: float = 900.0,
               busy: str | None = None) -> Iterator[None]:
    """Hold the lock file `locks/<name>.lock`; fail fast (Refusal) unless `wait` is set."""
    path = state.subdir("locks") / f"{name}.lock"
    message = busy or f"{name} is locked by another process"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    raise Refusal(message) from None
                if time.monotonic() > deadline:
                    raise Refusal(f"{message}: still locked after {timeout:g}s") from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def environment_lock(environment: str, *, wait: bool = False,
                     timeout: float = 900.0) -> contextlib.AbstractContextManager[None]:
    """One promotion per environment at a time."""
    return named_lock(f"promote-{environment}", wait=wait, timeout=timeout,
                      busy=f"promotion in progress for {environment} "
                           "(another promotion holds the lock; use --wait to queue)")
