"""kill -9 at each step of the hook and of the dispatcher: no lost trigger, no duplicate."""

from __future__ import annotations

import signal
import time

import pytest

from conveyor.intake import reconcile

from .conftest import Monorepo

CRASH = "CONVEYOR_TEST_CRASH_AT"


def assert_delivered_once_each(repo: Monorepo, count: int) -> None:
    delivered = repo.delivered()
    assert len(delivered) == count, delivered
    assert len({t for t, _s, _r in delivered}) == count
    with repo.outbox() as outbox:
        assert {r.state for r in outbox.rows()} == {"delivered"}


def test_hook_killed_before_the_spool_write_is_found_by_reconcile(central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    central.commit({"services/gateway/app.py": "lost?\n"})
    central.push("main", env={CRASH: "before-spool-write"})
    with central.outbox() as outbox:
        assert not outbox.is_known(b"refs/heads/main", central.head())
    [update] = reconcile.reconcile(central.bare)
    assert update.new == central.head()
    assert central.dispatch() == 0
    assert_delivered_once_each(central, 3)
    assert central.delivered()[2][1] == "gateway"
    assert reconcile.missing(central.bare) == []


@pytest.mark.parametrize("point", ["after-spool-write", "after-detection"])
def test_hook_killed_after_the_spool_write_loses_nothing(central: Monorepo, point: str) -> None:
    central.push("main", env={CRASH: point})
    assert central.delivered() == []  # no dispatcher was started
    assert reconcile.missing(central.bare) == []
    assert central.dispatch() == 0
    assert_delivered_once_each(central, 2)


@pytest.mark.parametrize("point", ["dispatch-before-submit", "dispatch-after-submit"])
def test_dispatcher_killed_around_delivery_never_duplicates(central: Monorepo,
                                                            point: str) -> None:
    assert central.dispatch(env={CRASH: point}) == 0  # nothing to do yet: no crash
    central.push("main", env={CRASH: point})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with central.outbox() as outbox:
            if any(r.attempts for r in outbox.rows()):
                break
        time.sleep(0.05)
    central.wait_idle()
    assert len(central.delivered()) == (1 if point == "dispatch-after-submit" else 0)
    assert central.dispatch() == 0
    assert_delivered_once_each(central, 2)


def test_a_crashed_dispatcher_run_dies_by_sigkill(central: Monorepo) -> None:
    central.push("main", env={CRASH: "after-detection"})
    assert central.dispatch(env={CRASH: "dispatch-after-submit"}) == -signal.SIGKILL
    assert central.dispatch() == 0
    assert_delivered_once_each(central, 2)


def test_a_second_dispatcher_exits_quietly(central: Monorepo) -> None:
    import fcntl

    central.push("main", env={CRASH: "after-detection"})
    with open(central.bare / "conveyor" / "dispatch.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert central.dispatch() == 0
        assert central.delivered() == []
    assert central.dispatch() == 0
    assert_delivered_once_each(central, 2)
