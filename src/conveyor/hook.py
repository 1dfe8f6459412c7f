"""The server-side hooks: post-receive (spool, detect within a budget, detach) and pre-receive.

post-receive never fails a push and never makes it wait: it writes the raw ref updates to
the outbox in one transaction first (so nothing is lost even if detection is slow or the
process is killed), then detects affected services in a worker thread for at most
`budget` seconds (default 0.5 s, `git config conveyor.hookBudgetMs`; 0 = always queue).
What it detected in time is printed one line per service; the rest is left to the detached
dispatcher, which it starts in a new session with its stdio closed. Any failure of
Conveyor's own is one warning line and exit 0.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence

from . import hook_git
from .crashpoints import crash_point
from .errors import ConveyorError
from .hook_git import Repo
from .ref_updates import RefUpdate, parse_updates

TYPE_CHECKING = False  # not typing's: importing typing (or pathlib) costs a push milliseconds
if TYPE_CHECKING:
    from typing import IO

    from .changes import Detection

# Imports are part of every push's time: this module and what pre-receive needs (policy,
# hook_git, ref_updates) stay free of subprocess, dataclasses, sqlite3, tomllib and
# conveyor.config; post-receive imports the spool and detection when it has work.

DEFAULT_BUDGET_S = 0.5


def say(out: IO[bytes], line: str) -> None:
    out.write(f"conveyor: {line}\n".encode("utf-8", "backslashreplace"))
    out.flush()


def push_options(env: Mapping[str, str]) -> list[str]:
    """GIT_PUSH_OPTION_COUNT / GIT_PUSH_OPTION_<i> (needs receive.advertisePushOptions)."""
    try:
        count = int(env.get("GIT_PUSH_OPTION_COUNT", "0"))
    except ValueError:
        return []
    return [env.get(f"GIT_PUSH_OPTION_{i}", "") for i in range(count)]


def budget(repo: Repo) -> float:
    explicit = os.environ.get("CONVEYOR_HOOK_BUDGET_MS")
    if explicit is None:
        code, value = hook_git.run(repo, "config", "--get", "conveyor.hookBudgetMs")
        explicit = value.decode("utf-8", "replace").strip() if code == 0 else None
    try:
        return float(explicit) / 1000 if explicit else DEFAULT_BUDGET_S
    except ValueError:
        return DEFAULT_BUDGET_S


def describe(detection: Detection) -> list[str]:
    if detection.affected:
        return [f"{a.service} → queued ({a.reason})" for a in detection.affected]
    return [f"{detection.update.ref_text}: {detection.note}"]


# ---------------------------------------------------------------- post-receive


def post_receive(repo: Repo, data: bytes, env: Mapping[str, str], out: IO[bytes]) -> int:
    try:
        crash_point("before-spool-write")
        updates = parse_updates(data)
        if not updates:
            return 0
        from .spool import Outbox

        with Outbox(repo) as outbox:
            ids = outbox.receive(updates, push_options(env))
        crash_point("after-spool-write")
        lines = _detect_within(repo, ids, updates, push_options(env), budget(repo))
        crash_point("after-detection")
        start_dispatcher(repo)
        for line in lines:
            say(out, line)
    except Exception as exc:  # Conveyor failing must never fail or stall the push
        say(out, f"warning: CI trigger not recorded: {exc}")
    return 0


def _detect_within(repo: Repo, ids: Sequence[int], updates: Sequence[RefUpdate],
                   options: Sequence[str], seconds: float) -> list[str]:
    """Detect in a worker thread; whatever is not done within `seconds` stays queued."""
    import threading

    from .changes import Detector
    from .dispatch import detect
    from .spool import Outbox, Received

    done: list[Detection | None] = []

    def work() -> None:
        with Outbox(repo) as outbox, Detector(repo) as detector:
            for update_id, update in zip(ids, updates, strict=True):
                done.append(detect(outbox, detector, Received(update_id, update,
                                                              tuple(options))))

    if seconds > 0:
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(seconds)
    lines = [line for d in list(done) if d is not None for line in describe(d)]
    left = len(updates) - len(done)
    if left:
        lines.append(f"{left} ref(s) queued for detection")
    return lines


def start_dispatcher(repo: Repo) -> None:
    """The dispatcher in its own session, stdio not inherited: the push never waits on it.

    posix_spawn, not subprocess (cheaper to import); no descriptor of the hook's reaches it
    but /dev/null and the log, so git never waits for it to close a pipe. It is not waited
    for: it outlives the hook, and init reaps it."""
    log = os.open(os.path.join(repo, "conveyor", "dispatch.log"),
                  os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        actions: list[tuple[int | str, ...]] = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, log, 1),
            (os.POSIX_SPAWN_DUP2, log, 2),
        ]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds() if fd > 2]
        os.posix_spawn(sys.executable, [sys.executable, "-m", "conveyor.dispatch", os.fspath(repo)],
                       hook_git.clean_env(), file_actions=actions, setsid=True)
    finally:
        os.close(log)


def _inheritable_fds() -> list[int]:
    """Descriptors a child would inherit (those git or a caller left without CLOEXEC)."""
    found = []
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        try:
            fd = int(name)
            if os.get_inheritable(fd):
                found.append(fd)
        except (ValueError, OSError):
            continue
    return found


# ---------------------------------------------------------------- pre-receive


def pre_receive(repo: Repo, data: bytes, env: Mapping[str, str], out: IO[bytes]) -> int:
    from . import policy

    try:
        updates = parse_updates(data)
        refusals = policy.check(repo, updates, env)
    except ConveyorError as exc:
        refusals = [f"refused: {exc}"]
    for line in refusals:
        say(out, line)
    return 1 if refusals else 0


# ---------------------------------------------------------------- entry point


def run(name: str, repo: Repo, data: bytes, env: Mapping[str, str], out: IO[bytes]) -> int:
    if name == "post-receive":
        return post_receive(repo, data, env, out)
    if name == "pre-receive":
        return pre_receive(repo, data, env, out)
    raise ConveyorError(f"unknown hook {name!r} (post-receive, pre-receive)")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m conveyor.hook NAME`: what the installed shims exec (stdin passed through)."""
    args = list(sys.argv[1:] if argv is None else argv)
    repo = os.path.realpath(os.environ.get("GIT_DIR", "."))
    start = time.monotonic()
    code = run(args[0] if args else "", repo, sys.stdin.buffer.read(), os.environ,
               sys.stdout.buffer)
    sys.stdout.flush()
    if os.environ.get("CONVEYOR_DEBUG"):
        print(f"conveyor: hook took {time.monotonic() - start:.3f}s", file=sys.stderr)
    return code


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # a detection thread still running must not hold the push
