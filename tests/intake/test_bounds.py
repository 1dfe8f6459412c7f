"""The push never waits more than 1 s on Conveyor: every wait of a hook is bounded, and what
misses the deadline is one warning line, exit 0, and left to the dispatcher."""

from __future__ import annotations

import io
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conveyor.git import spawn
from conveyor.intake import hook

from .conftest import Monorepo, git


@contextmanager
def locked_outbox(bare: Path) -> Iterator[None]:
    """Another writer holds the outbox's write lock."""
    conn = sqlite3.connect(bare / "conveyor" / "outbox.sqlite", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_a_locked_outbox_does_not_hold_the_push_and_the_dispatcher_reconciles(
        central: Monorepo) -> None:
    with locked_outbox(central.bare):
        start = time.monotonic()
        result = central.push("main")
        took = time.monotonic() - start
        assert b"conveyor: warning: CI trigger not recorded in time" in result.stderr
        assert b"the dispatcher will queue this push" in result.stderr
        assert took < 2.5  # git's own work included; the hook gives up after 0.45 s
        assert central.delivered() == []
    # the dispatcher it started (--reconcile) queues the head the hook could not write
    delivered = central.wait_delivered(2, timeout=40)
    assert sorted(s for _t, s, _r in delivered) == ["gateway", "password-strength"]
    with central.outbox() as outbox:
        assert outbox.is_known(b"refs/heads/main", central.head())


def test_a_busy_outbox_is_not_a_guard_refusal(central: Monorepo) -> None:
    git(central.bare, "config", "conveyor.guard", "true")
    central.push("main")
    central.wait_delivered(2)
    central.wait_idle()
    central.commit({"services/gateway/app.py": "v2\n"})
    with locked_outbox(central.bare):
        result = central.push("main")  # accepted: busy is not unavailable
        assert b"conveyor: warning: guard probe skipped" in result.stderr
    assert git(central.bare, "rev-parse", "main").stdout.strip().decode() == central.head()
    assert len(central.wait_delivered(3, timeout=40)) == 3


def test_a_policy_check_out_of_time_refuses_with_one_line(central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    new = central.commit({"k8s/overlays/production/kustomization.yaml": "images: [x]\n"})
    old = central.head("HEAD~1")
    update = f"{old} {new} refs/heads/main\n".encode()
    # the pushed objects, as pre-receive sees them (git's quarantine: an alternate)
    env = {"GIT_ALTERNATE_OBJECT_DIRECTORIES": str(central.work / ".git" / "objects")}
    out = io.BytesIO()
    spawn.set_deadline(time.monotonic() - 1)  # as if the walk had used all the time
    try:
        code = hook.pre_receive(central.bare, update, env, out)
    finally:
        spawn.set_deadline(None)
    assert code == 1  # fail closed: a protected path is never changed unchecked
    lines = out.getvalue().decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("conveyor: refused: the policy check did "
                                                   "not finish in time")
    # with time, the same update is refused as before
    out = io.BytesIO()
    assert hook.pre_receive(central.bare, update, env, out) == 1
    assert b"may only be changed by" in out.getvalue()


def test_git_commands_stop_at_the_process_deadline(central: Monorepo) -> None:
    spawn.set_deadline(time.monotonic() + 0.2)
    try:
        start = time.monotonic()
        try:
            spawn.run(central.bare, "hash-object", "--stdin", input=b"x")
            spawn.run(central.bare, "-c", "alias.wait=!sleep 5", "wait")
        except spawn.GitTimeout:
            pass
        else:
            raise AssertionError("no GitTimeout")
        assert time.monotonic() - start < 1.5
    finally:
        spawn.set_deadline(None)


def test_the_watchdog_ends_a_stuck_hook_and_the_dispatcher_catches_up(
        central: Monorepo) -> None:
    start = time.monotonic()
    result = central.push("main", env={"CONVEYOR_TEST_WATCHDOG_S": "0"})
    assert time.monotonic() - start < 2.5
    assert b"conveyor: warning:" in result.stderr and b"not" in result.stderr
    delivered = central.wait_delivered(2, timeout=40)
    assert sorted(s for _t, s, _r in delivered) == ["gateway", "password-strength"]


def test_a_stuck_pre_receive_refuses_the_push_and_changes_nothing(central: Monorepo) -> None:
    central.push("main")
    before = central.head()
    central.commit({"services/gateway/app.py": "v2\n"})
    start = time.monotonic()
    result = central.push("main", check=False, env={"CONVEYOR_TEST_PRE_WATCHDOG_S": "0"})
    assert time.monotonic() - start < 2.5
    assert result.returncode != 0
    assert b"conveyor: refused: the policy check did not finish in time" in result.stderr
    assert git(central.bare, "rev-parse", "main").stdout.strip().decode() == before


def test_a_budget_of_zero_leaves_detection_to_the_dispatcher(central: Monorepo) -> None:
    git(central.bare, "config", "conveyor.hookBudgetMs", "0")
    result = central.push("main")
    assert b"conveyor: 1 ref(s) queued for detection" in result.stderr
    assert b"queued (first push" not in result.stderr
    assert len(central.wait_delivered(2)) == 2


def test_the_budget_is_capped_by_the_deadline(central: Monorepo) -> None:
    git(central.bare, "config", "conveyor.hookBudgetMs", "60000")
    start = time.monotonic()
    result = central.push("main")
    assert time.monotonic() - start < 2.5
    assert b"gateway \xe2\x86\x92 queued" in result.stderr


def test_both_hooks_together_stay_under_a_second_when_everything_blocks(
        central: Monorepo) -> None:
    import os
    import subprocess

    central.push("main")
    central.wait_delivered(2)
    central.wait_idle()
    git(central.bare, "config", "conveyor.guard", "true")  # pre-receive probes the outbox too
    head = central.head()
    update = f"{head} {head} refs/heads/main\n".encode()
    hooks = central.bare / "hooks"
    env = {**os.environ, "GIT_DIR": str(central.bare)}
    with locked_outbox(central.bare):
        start = time.monotonic()
        pre = subprocess.run([hooks / "pre-receive"], input=update, env=env, cwd=central.bare,
                             capture_output=True, timeout=10)
        post = subprocess.run([hooks / "post-receive"], input=update, env=env,
                              cwd=central.bare, capture_output=True, timeout=10)
        took = time.monotonic() - start
    assert pre.returncode == 0 and post.returncode == 0
    assert pre.stdout.count(b"conveyor: warning:") == 1
    assert post.stdout.count(b"conveyor: warning:") == 1
    assert took < 1.2, took  # 0.3 s probe + 0.45 s of waiting, two interpreters, a loaded machine
