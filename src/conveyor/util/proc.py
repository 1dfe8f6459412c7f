"""Subprocesses with a timeout and a SIGTERM -> SIGKILL escalation, never through a shell;
long-lived ones started detached (`start_detached`)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conveyor.errors import ConveyorError, Refusal, Retryable

# long-lived children: defined in the light util.detach (the hook starts the dispatcher with it)
from conveyor.util.detach import has_exited as has_exited
from conveyor.util.detach import start_detached as start_detached

GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    check: bool = True,
) -> Result:
    """Run argv to completion; on timeout terminate its process group, then kill it."""
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise Refusal(f"{argv[0]}: command not found") from exc
    try:
        stdout, stderr = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        raise Retryable(f"{argv[0]} timed out after {timeout:g}s") from None
    result = Result(tuple(argv), process.returncode, stdout, stderr)
    if check and not result.ok:
        detail = stderr.decode("utf-8", "replace").strip().splitlines()
        last = detail[-1] if detail else f"exit {result.returncode}"
        command = " ".join(os.path.basename(a) for a in argv[:2])
        raise ConveyorError(f"{command}: {last}")
    return result


def stop(process: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> None:
    """Terminate a process group politely, then forcibly."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
