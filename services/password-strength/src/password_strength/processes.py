"""Several server processes on one port (SO_REUSEPORT): scoring holds the GIL, so one
process uses one core however many threads it has; the kernel spreads connections over the
processes' listening sockets.

Processes are forked before any gRPC object exists in the parent (gRPC must not be forked
after it has started threads), so each child builds its own server from scratch. The parent
only supervises: SIGTERM is forwarded to every child, and if one child dies the others are
stopped too, so an orchestrator sees the failure and restarts the whole instance.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

log = logging.getLogger("password_strength")

Serve = Callable[[int, Callable[[], None]], int]  # (port, ready) -> exit code; blocks


class ServerGroup:
    def __init__(self, host: str, port: int, count: int, serve: Serve,
                 start_timeout: float = 60.0) -> None:
        ctx = multiprocessing.get_context("fork")
        # Each child sends its pid when it serves (a few bytes: pipe writes that small are
        # atomic, so the children can share one writer).
        self._ready, ready_writer = ctx.Pipe(duplex=False)
        # Port 0: reserve a free port with a bound (not listening) SO_REUSEPORT socket, so no
        # other program takes it before the children bind; connections only go to listeners.
        self._reserved = _reserve(host) if port == 0 else None
        self.port = self._reserved.getsockname()[1] if self._reserved else port
        self.children = [ctx.Process(target=_child, args=(serve, self.port, ready_writer),
                                     name=f"password-strength-{i}", daemon=True)
                         for i in range(count)]
        for child in self.children:
            child.start()
        try:
            self._await_ready(start_timeout)
        except BaseException:
            self.stop(0.0)
            raise

    def _await_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = len(self.children)
        sentinels = [child.sentinel for child in self.children]
        while pending:
            woke = wait([self._ready, *sentinels], max(deadline - time.monotonic(), 0.0))
            if not woke:
                raise RuntimeError(f"a server process did not start in {timeout:g}s")
            if self._ready in woke:
                self._ready.recv()
                pending -= 1
            elif any(not child.is_alive() for child in self.children):
                raise RuntimeError("a server process exited while starting (see its log)")

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children if child.pid is not None]

    def wait_any(self, timeout: float | None = None) -> bool:
        """True when some child has exited."""
        return bool(wait([c.sentinel for c in self.children], timeout))

    def stop(self, grace: float) -> int:
        """SIGTERM every child (each drains for `grace`), wait; 0 if all exited cleanly."""
        for child in self.children:
            if child.is_alive() and child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)
        for child in self.children:
            child.join(grace + 5.0)
            if child.is_alive():
                child.kill()
                child.join(5.0)
        if self._reserved is not None:
            self._reserved.close()
            self._reserved = None
        return 0 if all(child.exitcode == 0 for child in self.children) else 1


def _child(serve: Serve, port: int, ready: Connection) -> None:
    code = serve(port, lambda: ready.send(os.getpid()))
    os._exit(code)  # skip the parent's atexit handlers, inherited by the fork


def _reserve(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, 0))
    return sock

