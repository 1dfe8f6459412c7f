"""git for the hooks' fast path: `os.posix_spawnp` and a pipe, with a deadline.

The hooks run twice per push in fresh interpreters, so what they import is part of the time a
push waits. This module needs only `os`, `select` and `time` (no subprocess, no dataclasses,
no conveyor.git/proc); everything else on the fast path builds on it.

Every `run` has a timeout, and a hook also sets one process-wide deadline (`set_deadline`):
no git command it runs outlives it (GitTimeout, the process killed), whatever was asked.
"""

from __future__ import annotations

import os
import select
import time

from conveyor.errors import ConveyorError

TYPE_CHECKING = False  # not typing's (nor collections.abc): every push imports this module
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

Repo = str | os.PathLike[str]
QUARANTINE_VARS = ("GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY",
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES")


SIGKILL = 9  # POSIX; not signal.SIGKILL: importing signal (and enum) costs a push milliseconds
_deadline: float | None = None  # time.monotonic() no git command of this process outlives


class GitTimeout(ConveyorError):
    pass


def set_deadline(deadline: float | None) -> None:
    """Bound every later `run` of this process by `deadline` (time.monotonic()); None: no bound."""
    global _deadline
    _deadline = deadline


def time_left(default: float) -> float:
    """Seconds until the process deadline (`default` when there is none), never below 0."""
    if _deadline is None:
        return default
    return max(0.0, min(default, _deadline - time.monotonic()))


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment minus what a hook inherits from receive-pack (GIT_DIR & co.)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k == "GIT_SSL_CAINFO"}
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    if extra:
        env.update(extra)
    return env


def objects_env(env: Mapping[str, str]) -> dict[str, str]:
    """The quarantine variables: pre-receive sees the pushed objects only through them."""
    return {k: env[k] for k in QUARANTINE_VARS if k in env}


def run(repo: Repo, *args: str, input: bytes = b"",
        env: Mapping[str, str] | None = None, timeout: float = 60.0) -> tuple[int, bytes]:
    """(exit status, stdout) of `git -C repo ARGS`; stderr discarded; GitTimeout after
    `timeout` seconds, or at the process deadline (the process is killed). `input` must fit
    a pipe buffer (< 64 KiB)."""
    return start(repo, *args, input=input, env=env, timeout=timeout).result()


class Pending:
    """A git command started by `start`; `result()` waits for it (within its deadline)."""

    def __init__(self, pid: int, out: int, what: str, timeout: float) -> None:
        self.pid, self.out, self.what, self.timeout = pid, out, what, timeout
        self.deadline = time.monotonic() + timeout

    def result(self) -> tuple[int, bytes]:
        chunks: list[bytes] = []
        try:
            while True:
                left = self.deadline - time.monotonic()
                if left <= 0 or not select.select([self.out], [], [], left)[0]:
                    os.kill(self.pid, SIGKILL)
                    os.waitpid(self.pid, 0)
                    raise GitTimeout(f"git {self.what} timed out after {self.timeout:g}s")
                chunk = os.read(self.out, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self.out)
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status), b"".join(chunks)


def start(repo: Repo, *args: str, input: bytes = b"", env: Mapping[str, str] | None = None,
          timeout: float = 60.0) -> Pending:
    """`run`, started: the command runs while the caller does something else."""
    if len(input) > 60_000:
        raise ConveyorError("git.spawn.run: input too large for the fast path")
    timeout = time_left(timeout)
    if timeout <= 0:
        raise GitTimeout(f"git {args[0] if args else ''}: no time left")
    pid, in_w, out_r = spawn(repo, *args, env=env)
    try:
        if input:
            os.write(in_w, input)
    except BrokenPipeError:
        pass
    finally:
        os.close(in_w)
    return Pending(pid, out_r, args[0] if args else "", timeout)


def spawn(repo: Repo, *args: str,
          env: Mapping[str, str] | None = None) -> tuple[int, int, int]:
    """Start `git -C repo ARGS` with a pipe on each side: (pid, its stdin, its stdout).

    The caller writes, reads, closes both descriptors and reaps the process (`reap`)."""
    out_r, out_w = os.pipe()
    in_r, in_w = os.pipe()
    try:
        actions = [
            (os.POSIX_SPAWN_DUP2, in_r, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_CLOSE, in_w),
            (os.POSIX_SPAWN_CLOSE, out_r),
        ]
        pid = os.posix_spawnp("git", ["git", "-C", os.fspath(repo), *args], clean_env(env),
                              file_actions=actions)
    except BaseException:
        for fd in (out_r, out_w, in_r, in_w):
            os.close(fd)
        raise
    os.close(in_r)
    os.close(out_w)
    return pid, in_w, out_r


def reap(pid: int, timeout: float = 5.0) -> int:
    """Wait up to `timeout` seconds for `pid` to exit, then kill it; its exit status."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            os.kill(pid, SIGKILL)
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        time.sleep(delay)
        delay = min(0.05, delay * 2)


def batch_check(repo: Repo, specs: Sequence[str],
                env: Mapping[str, str] | None = None) -> list[tuple[str, str] | None]:
    """(object id, type) of each spec (`rev`, `rev:path`), or None when it does not exist."""
    if any("\n" in s for s in specs):
        raise ConveyorError("cannot look up a name with a newline")
    code, out = run(repo, "cat-file", "--batch-check",
                    input="".join(f"{s}\n" for s in specs).encode("utf-8", "surrogateescape"),
                    env=env)
    if code != 0:
        raise ConveyorError(f"git cat-file --batch-check failed (exit {code})")
    found: list[tuple[str, str] | None] = []
    for line in out.decode("utf-8", "replace").splitlines()[:len(specs)]:
        fields = line.split()
        found.append((fields[0], fields[1]) if len(fields) == 3 else None)
    return found
