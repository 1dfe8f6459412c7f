"""Advisory file locks (flock): builds, registry start, one promotion per environment, the
dispatcher, local runs taking turns. The one place that calls flock.

A lock dies with its holder (the kernel drops it when the process exits, even on kill -9),
so a crash never leaves a stale lock behind. A held lock file names its holder's pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator

from conveyor import state
from conveyor.errors import Refusal
from conveyor.util.wait import Timeout, wait_until

POLL_SECONDS = 0.1


def open_lock(path: str | os.PathLike[str]) -> int:
    """The descriptor of a lock file (created 0600, its folder too); close it to release."""
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def try_lock(fd: int) -> bool:
    """Take the exclusive lock of `fd` if nobody holds it; never waits. The holder's pid is
    written into the file (for operators and tests)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return True


@contextlib.contextmanager
def attempt(path: str | os.PathLike[str]) -> Iterator[bool]:
    """Try once: True inside the block if this process got the lock, False if another holds it."""
    fd = open_lock(path)
    try:
        yield try_lock(fd)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def hold(path: str | os.PathLike[str],
         on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path`, waiting as long as it takes; `on_wait` is called
    once if someone else holds it."""
    fd = open_lock(path)
    try:
        if not try_lock(fd):
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
    message = busy or f"{name} is locked by another process"
    fd = open_lock(state.subdir("locks") / f"{name}.lock")
    try:
        if not try_lock(fd):
            if not wait:
                raise Refusal(message)
            try:
                wait_until(lambda: try_lock(fd), timeout, POLL_SECONDS, message)
            except Timeout:
                raise Refusal(f"{message}: still locked after {timeout:g}s") from None
        yield
    finally:
        os.close(fd)


def environment_lock(environment: str, *, wait: bool = False,
                     timeout: float = 900.0) -> contextlib.AbstractContextManager[None]:
    """One promotion per environment at a time."""
    return named_lock(f"promote-{environment}", wait=wait, timeout=timeout,
                      busy=f"promotion in progress for {environment} "
                           "(another promotion holds the lock; use --wait to queue)")
