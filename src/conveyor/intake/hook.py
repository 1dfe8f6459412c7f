"""The server-side hooks: post-receive (spool, detect within a budget, detach) and pre-receive.

post-receive never fails a push and never makes it wait: it writes the raw ref updates to
the outbox in one transaction first (so nothing is lost even if detection is slow or the
process is killed), then detects affected services in a worker thread for at most
`budget` seconds (default 0.5 s, `git config conveyor.hookBudgetMs`; 0 = always queue).
What it detected in time is printed one line per service; the rest is left to the detached
dispatcher, which it starts in a new session with its stdio closed. Any failure of
Conveyor's own is one warning line and exit 0.

The push never waits on CI: every wait of a hook is bounded by one deadline, LIMIT_S[hook]
after it starts: git commands (git.spawn), the outbox's and the records DB's SQLite locks, the
detection budget (conveyor.hookBudgetMs is capped by it), pre-receive's guard probe (at most
PROBE_S). post-receive and pre-receive's waits on Conveyor's own state (the guard probe) end
well inside 1 s together; pre-receive's protected-path walk, which is policy rather than CI,
may use up to its 2 s limit on a huge push. What misses its deadline:
- post-receive could not write its ref updates (outbox locked): the dispatcher it starts
  runs with --reconcile, which queues every head the outbox has no record of (what
  `conveyor reconcile` does), then detects and delivers;
- detection not done in time: the updates are in the outbox as `received`; the dispatcher
  detects them;
- pre-receive's guard probe timed out: a warning, the push goes on (the outbox is busy,
  not broken);
- pre-receive's protected-path walk timed out: the push is refused with one line (fail
  closed: a protected path is never changed unchecked; nothing was changed, push again).
A watchdog thread enforces the bound whatever blocks (WATCHDOG_GRACE_S after the deadline):
it prints the warning, starts the dispatcher with --reconcile (post-receive) and exits 0.
With the interpreters' start-up (~20 ms each), the two hooks stay under 1 s.
"""

from __future__ import annotations

import os
import sys
import time

from conveyor.errors import ConveyorError, UsageError
from conveyor.git import spawn as git_spawn
from conveyor.git.spawn import Repo
from conveyor.intake.ref_updates import RefUpdate, parse_updates
from conveyor.util import detach
from conveyor.util.crashpoints import crash_point

TYPE_CHECKING = False  # not typing's: importing typing (or pathlib) costs a push milliseconds
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import IO

    from conveyor.intake.changes import Detection
    from conveyor.intake.outbox import Outbox

# Imports are part of every push's time: this module and what pre-receive needs (push_policy,
# git.spawn, ref_updates) stay free of subprocess, dataclasses, sqlite3, tomllib and
# conveyor.config; post-receive imports the outbox and detection (changes, config.plan_cache,
# git.trees: light too) when it has work; the loader only for a configuration it has
# not seen before.

DEFAULT_BUDGET_S = 0.5
# every wait of a hook ends this long after it started; the two sum to well under 1 s
LIMIT_S = {"pre-receive": 2.0, "post-receive": 0.45}
WATCHDOG_GRACE_S = 0.05  # and whatever blocks, the hook exits 0 this long after its deadline
RESERVE_S = 0.05  # kept for starting the dispatcher and printing, after the last wait
PROBE_S = 0.3  # pre-receive's guard probe waits at most this for the outbox lock


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
        try:
            code, value = git_spawn.run(repo, "config", "--get", "conveyor.hookBudgetMs")
        except git_spawn.GitTimeout:
            return DEFAULT_BUDGET_S
        explicit = value.decode("utf-8", "replace").strip() if code == 0 else None
    try:
        return float(explicit) / 1000 if explicit else DEFAULT_BUDGET_S
    except ValueError:
        return DEFAULT_BUDGET_S


def describe(detection: Detection) -> list[str]:
    """What the pusher reads: each service queued and why, or why nothing builds."""
    if detection.affected:
        return [f"{a.service} → queued ({a.reason})" for a in detection.affected]
    note = detection.note
    if "nothing to build" not in note:
        note = f"nothing to build: {note}"
    return [f"{detection.update.ref_text}: {note}"]


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


# ---------------------------------------------------------------- post-receive


def post_receive(repo: Repo, data: bytes, env: Mapping[str, str], out: IO[bytes],
                 deadline: float | None = None) -> int:
    deadline = time.monotonic() + LIMIT_S["post-receive"] if deadline is None else deadline
    try:
        crash_point("before-spool-write")
        updates = parse_updates(data)
        if not updates:
            return 0
        from conveyor.intake.outbox import Outbox, SpoolBusy

        options = push_options(env)
        try:  # the outbox goes on to the detection thread, which closes it
            outbox = Outbox(repo, timeout=max(0.01, _left(deadline) - RESERVE_S), threads=True)
            try:
                ids = outbox.receive(updates, options)
            except BaseException:
                outbox.close()
                raise
        except SpoolBusy as exc:
            start_dispatcher(repo, reconcile=True)
            say(out, f"warning: CI trigger not recorded in time ({exc}); "
                     "the dispatcher will queue this push (conveyor reconcile)")
            return 0
        crash_point("after-spool-write")
        lines = _detect_within(repo, outbox, ids, updates, options, deadline)
        crash_point("after-detection")
        start_dispatcher(repo)
        for line in lines:
            say(out, line)
    except Exception as exc:  # Conveyor failing must never fail or stall the push
        say(out, f"warning: CI trigger not recorded: {exc}")
    return 0


def _detect_within(repo: Repo, outbox: Outbox, ids: Sequence[int],
                   updates: Sequence[RefUpdate], options: Sequence[str],
                   deadline: float) -> list[str]:
    """Detect in a worker thread; whatever is not done within the budget (and before the
    deadline) stays queued for the dispatcher. The thread owns `outbox` (and closes it).

    The budget is read (a git process) while the thread detects; nothing is stored before
    it is known, so a budget of 0 leaves every update to the dispatcher, as it always did.
    _thread, not threading: importing threading costs a push milliseconds."""
    import _thread

    from conveyor.intake import detect as intake
    from conveyor.intake.changes import Detector
    from conveyor.intake.outbox import Received

    done: list[Detection | None] = []
    warnings: list[str] = []
    failures: list[str] = []  # detections that failed for good (a broken configuration)
    decided, finished = _thread.allocate_lock(), _thread.allocate_lock()
    decided.acquire()
    finished.acquire()
    verdict: list[bool] = []

    def store_now() -> bool:
        decided.acquire()  # released once the budget is known
        decided.release()
        return verdict[0]

    def work() -> None:
        try:
            with outbox, Detector(repo) as detector:
                for update_id, update in zip(ids, updates, strict=True):
                    item = Received(update_id, update, tuple(options))
                    detection = intake.detect(outbox, detector, item, warnings.append,
                                              max(0.01, _left(deadline)), store_now,
                                              failures.append)
                    if not store_now():
                        return
                    done.append(detection)
        except Exception as exc:  # left to the dispatcher, as if out of time
            warnings.append(f"detection left to the dispatcher: {exc}")
        finally:
            finished.release()

    _thread.start_new_thread(work, ())
    seconds = 0.0
    try:
        seconds = min(budget(repo), _left(deadline) - RESERVE_S)
    finally:  # whatever happened, the worker learns whether to store
        verdict.append(seconds > 0)
        decided.release()
    if seconds > 0:
        finished.acquire(timeout=seconds)
    finished_now = list(done)
    lines = [line for d in finished_now if d is not None for line in describe(d)]
    lines += [f"error: {f}" for f in list(failures)]
    lines += [f"warning: {w}" for w in list(warnings)]
    left = len(updates) - len(finished_now)
    if left:
        lines.append(f"{left} ref(s) queued for detection")
    return lines


def start_dispatcher(repo: Repo, reconcile: bool = False) -> None:
    """The dispatcher in its own session, stdio not inherited: the push never waits on it.

    `util.detach` (posix_spawn, not subprocess: cheaper to import); no descriptor of the
    hook's reaches it but /dev/null and the log, so git never waits for it to close a pipe.
    It is not waited for: it outlives the hook, and init reaps it. `reconcile`: it first
    queues the heads the outbox has no record of (the hook could not write them)."""
    flags = ["--reconcile"] if reconcile else []
    detach.start_detached(
        [sys.executable, "-m", "conveyor.intake.dispatch", *flags, os.fspath(repo)],
        os.path.join(repo, "conveyor", "dispatch.log"), env=git_spawn.clean_env())


# ---------------------------------------------------------------- pre-receive


def pre_receive(repo: Repo, data: bytes, env: Mapping[str, str], out: IO[bytes]) -> int:
    from conveyor.intake import push_policy

    warnings: list[str] = []
    try:
        updates = parse_updates(data)
        refusals = push_policy.check(repo, updates, env, warnings.append, probe_s=PROBE_S)
    except git_spawn.GitTimeout as exc:
        say(out, f"refused: the policy check did not finish in time ({exc}); nothing was "
                 "changed: push again, or push fewer commits at once")
        return 1
    except ConveyorError as exc:
        refusals = [f"refused: {exc}"]
    for line in [*refusals, *(f"warning: {w}" for w in warnings)]:
        say(out, line)
    return 1 if refusals else 0


def _watchdog(name: str, repo: Repo, seconds: float) -> None:
    """Whatever blocks this hook (a lock, a disk, git), it exits 0 after `seconds`."""
    import _thread

    def expire() -> None:
        time.sleep(seconds)
        if name == "post-receive":
            line = ("conveyor: warning: CI trigger not recorded in time; the dispatcher will "
                    "queue this push (conveyor reconcile)\n")
        else:
            line = ("conveyor: refused: the policy check did not finish in time; nothing was "
                    "changed: push again, or push fewer commits at once\n")
        try:
            os.write(1, line.encode())
            if name == "post-receive":
                start_dispatcher(repo, reconcile=True)
        finally:
            os._exit(0 if name == "post-receive" else 1)

    _thread.start_new_thread(expire, ())


# ---------------------------------------------------------------- entry point


def run(name: str, repo: Repo, data: bytes, env: Mapping[str, str], out: IO[bytes],
        deadline: float | None = None) -> int:
    if name == "post-receive":
        return post_receive(repo, data, env, out, deadline)
    if name == "pre-receive":
        return pre_receive(repo, data, env, out)
    raise UsageError(f"unknown hook {name!r} (post-receive, pre-receive)")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m conveyor.intake.hook NAME` (the shims: `entry()`), stdin passed through."""
    start = time.monotonic()
    args = list(sys.argv[1:] if argv is None else argv)
    name = args[0] if args else ""
    limit = LIMIT_S.get(name, LIMIT_S["post-receive"])
    git_spawn.set_deadline(start + limit)
    repo = os.path.realpath(os.environ.get("GIT_DIR", "."))
    test_knob = "CONVEYOR_TEST_WATCHDOG_S" if name == "post-receive" else (
        "CONVEYOR_TEST_PRE_WATCHDOG_S")
    _watchdog(name, repo, float(os.environ.get(test_knob, limit + WATCHDOG_GRACE_S)))
    code = run(name, repo, sys.stdin.buffer.read(), os.environ, sys.stdout.buffer,
               start + limit)
    sys.stdout.flush()
    if os.environ.get("CONVEYOR_DEBUG"):
        print(f"conveyor: hook took {time.monotonic() - start:.3f}s", file=sys.stderr)
    return code


def entry() -> None:
    """What the shims run (`python -P -c 'from conveyor.intake.hook import entry; entry()' NAME`:
    -c, not -m: runpy's imports cost every push milliseconds; -P: nothing is imported from
    the bare repository, the hook's working directory)."""
    code = main()
    sys.stdout.flush()
    os._exit(code)  # a detection thread still running must not hold the push


if __name__ == "__main__":
    entry()
