"""The one-per-concern helpers: atomic writes, locks, waiting, loopback checks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conveyor.errors import Refusal
from conveyor.util import atomic, locks, net, proc
from conveyor.util.wait import Timeout, wait_until


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    target.write_text("old")
    atomic.write_text(target, "new", mode=0o600)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.json"]


def test_concurrent_atomic_writers_never_share_a_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    payloads = [bytes([65 + n]) * 200_000 for n in range(8)]
    threads = [threading.Thread(target=atomic.write_bytes, args=(target, data))
               for data in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_bytes() in payloads  # one writer's whole content, never a mix
    assert [p.name for p in tmp_path.iterdir()] == ["report.xml"]


def test_a_failed_write_keeps_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("old")
    with pytest.raises(TypeError):
        atomic.write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_atomic_imports_nothing_heavy() -> None:
    probe = "import sys, conveyor.util.atomic; print(' '.join(sys.modules))"
    loaded = set(subprocess.run([sys.executable, "-P", "-c", probe], capture_output=True,
                                text=True, check=True, timeout=60).stdout.split())
    assert not loaded & {"pathlib", "typing", "tempfile"}


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("10.0.0.1", False), ("example.com", False),
    ("", False), (None, False)])
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert net.is_loopback(host) is loopback


def test_split_host_and_free_port() -> None:
    assert net.split_host("127.0.0.1:5000") == "127.0.0.1"
    assert net.split_host("[::1]:5000") == "[::1]"
    assert 0 < net.free_port() < 65536


def test_wait_until_returns_the_value_or_times_out() -> None:
    start = time.monotonic()
    calls: list[int] = []
    assert wait_until(lambda: calls.append(1) or len(calls) >= 3 and "ok", 5, 0.01) == "ok"
    with pytest.raises(Timeout, match="the registry: not after 0.2s"):
        wait_until(lambda: False, 0.2, 0.05, "the registry")
    assert time.monotonic() - start < 2


def test_a_named_lock_fails_fast_or_waits_with_a_deadline(tmp_path: Path) -> None:
    with locks.named_lock("thing"):
        with pytest.raises(Refusal, match="locked by another"), locks.named_lock("thing"):
            pass
        # flock is per open file description: a second descriptor in this process conflicts
        with pytest.raises(Refusal, match="still locked after 0.3s"):
            with locks.named_lock("thing", wait=True, timeout=0.3):
                pass
    with locks.named_lock("thing"):  # released on exit
        pass


def test_attempt_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dispatch.lock"
    with locks.attempt(path) as mine:
        assert mine
        assert path.read_text() == f"{os.getpid()}\n"
        with locks.attempt(path) as second:
            assert not second


def test_a_detached_process_gets_its_log_cwd_and_session_and_no_other_descriptor(
        tmp_path: Path) -> None:
    leaked = os.open(tmp_path / "leak", os.O_WRONLY | os.O_CREAT)
    os.set_inheritable(leaked, True)
    probe = ("import os, sys; print(os.getcwd(), os.getsid(0) == os.getpid(), "
             f"sys.stdin.read() == '', os.path.exists('/proc/self/fd/{leaked}'))")
    try:
        pid = proc.start_detached([sys.executable, "-c", probe], tmp_path / "child.log",
                                  cwd=tmp_path)
    finally:
        os.close(leaked)
    wait_until(lambda: proc.has_exited(pid), 10, what="the child")
    assert (tmp_path / "child.log").read_text().split() == [str(tmp_path), "True", "True",
                                                            "False"]
    assert not os.path.exists(f"/proc/{pid}")  # reaped: no zombie left
    with pytest.raises(OSError):
        proc.start_detached([str(tmp_path / "missing")], tmp_path / "child.log")
