"""git for the hooks' fast path: `os.posix_spawnp` and a pipe, with a deadline.

The hooks run twice per push in fresh interpreters, so what they import is part of the time a
push waits. This module needs only `os`, `select` and `time` (no subprocess, no dataclasses,
no conveyor.git/proc); everything else on the fast path builds on it.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Mapping, Sequence

from .errors import ConveyorError

Repo = str | os.PathLike[str]
QUARANTINE_VARS = ("GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY",
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES")


class GitTimeout(ConveyorError):
    pass


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment minus what a hook inherits from receive-pack (as conveyor.git does)."""
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
    `timeout` seconds (the process is killed). `input` must fit a pipe buffer (< 64 KiB)."""
    if len(input) > 60_000:
        raise ConveyorError("hook_git.run: input too large for the fast path")
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
        pid = os.posix_spawnp("git", ["git", "-C", os.fspath(repo), *args],
                              clean_env(env), file_actions=actions)
    except BaseException:
        for fd in (out_r, out_w, in_r, in_w):
            os.close(fd)
        raise
    os.close(in_r)
    os.close(out_w)
    try:
        if input:
            os.write(in_w, input)
    except BrokenPipeError:
        pass
    finally:
        os.close(in_w)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out_r], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise GitTimeout(f"git {args[0] if args else ''} timed out after {timeout:g}s")
            chunk = os.read(out_r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(out_r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks)


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
