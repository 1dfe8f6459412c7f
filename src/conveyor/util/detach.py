"""Long-lived processes started detached: `os.posix_spawnp` in a new session.

The child reads /dev/null, writes to its log file and inherits no other descriptor; no
`subprocess.Popen` object is left behind (nothing to wait for, no "still running" warning).
Kept to `os` alone: the hook starts the dispatcher through it. `util.proc` re-exports
`start_detached` for everyone else.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: the hook imports this module on every push
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# detached children not yet reaped: each start reaps the finished ones, as subprocess does for
# the Popen objects it forgot, so a long-lived parent collects no zombies
_started: set[int] = set()


def start_detached(argv: Sequence[str], log_path: str | os.PathLike[str], *,
                   env: Mapping[str, str] | None = None,
                   cwd: str | os.PathLike[str] | None = None) -> int:
    """Start argv in its own session, stdin /dev/null, stdout and stderr appended to
    `log_path`; its pid. `cwd`: through `env --chdir` (posix_spawn has no chdir action), so
    argv[0] must then not contain '='. OSError when argv[0] cannot be started."""
    argv = [os.fspath(a) for a in argv]
    if cwd is not None:
        if "=" in argv[0]:
            raise ValueError(f"{argv[0]!r}: a program name with '=' cannot be started in a cwd")
        argv = ["env", f"--chdir={os.fspath(cwd)}", "--", *argv]
    _reap_finished()
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        actions: list[tuple[int | str, ...]] = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, log, 1),
            (os.POSIX_SPAWN_DUP2, log, 2),
        ]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds() if fd > 2]
        pid = os.posix_spawnp(argv[0], argv, dict(os.environ if env is None else env),
                              file_actions=actions, setsid=True)
    finally:
        os.close(log)
    _started.add(pid)
    return pid


def has_exited(pid: int) -> bool:
    """True when `pid` is gone; reaps it when it was our child (no zombie stays)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child (or reaped): does it still exist?
        _started.discard(pid)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    if done:
        _started.discard(pid)
    return bool(done)


def _reap_finished() -> None:
    for pid in list(_started):
        has_exited(pid)


def _inheritable_fds() -> list[int]:
    """Descriptors a child would inherit (those a caller, or git, left without CLOEXEC)."""
    found = []
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        try:
            fd = int(name)
            if os.get_inheritable(fd):
                found.append(fd)
        except (ValueError, OSError):
            continue
    return found
