"""A small monorepo, its bare central repository with Conveyor's hooks, and a recording executor.

The executor is the command executor running `recorder.py`, which appends one line per
call to `delivered.log`: TRIGGER_ID, SERVICE, REF_B64. Its behaviour is set by the file
`mode` beside it: ok (exit 0), down (exit 75), refuse (exit 1), hang (sleep, then ok).
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.intake import install as hook_install
from conveyor.intake.outbox import Outbox, Row
from tests.support.repo import PROMOTER, commit, git, init, write

RECORDER = """\
import os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
mode = open(os.path.join(here, "mode")).read().strip()
if mode == "down":
    sys.exit(75)
if mode == "refuse":
    print("job missing", file=sys.stderr)
    sys.exit(1)
if mode == "hang":
    time.sleep(5)
with open(os.path.join(here, "delivered.log"), "a") as log:
    log.write(f"{os.environ['TRIGGER_ID']} {os.environ['SERVICE']} {os.environ['REF_B64']}\\n")
print("run-" + os.environ["TRIGGER_ID"][:8])
"""

PIPELINE = """\
[service]
name = "{name}"
paths = ["services/{name}/"]
depends_on = ["protos/"]
"""


def settings_toml(recorder: Path, extra: str = "") -> str:
    return f"""\
[project]
default_branch = "main"
global_paths = ["build/", "Jenkinsfile"]
promotion_paths = ["k8s/overlays/"]
{extra}
[executor]
kind = "command"
command = [{str(sys.executable)!r}, {str(recorder)!r}]

[policy]
promotion_identity = "Conveyor Promotions <promotions@conveyor.invalid>"

[policy.protected_paths]
"k8s/overlays/production/" = ["promotions@conveyor.invalid"]
"""


@dataclass
class Monorepo:
    work: Path
    bare: Path
    executor_dir: Path

    # ---------------------------------------------------------------- editing
    def write(self, files: Mapping[str | bytes, str | bytes]) -> None:
        write(self.work, files)

    def commit(self, files: Mapping[str | bytes, str | bytes], message: str = "change",
               env: Mapping[str, str] | None = None) -> str:
        self.write(files)
        return commit(self.work, message, env)

    def head(self, rev: str = "HEAD") -> str:
        return git(self.work, "rev-parse", rev).stdout.decode().strip()

    # ---------------------------------------------------------------- pushing
    def push(self, *refspecs: str | bytes, options: tuple[str, ...] = (),
             env: Mapping[str, str] | None = None, check: bool = True,
             url: str | None = None) -> subprocess.CompletedProcess[bytes]:
        args: list[str | bytes] = ["push", "--porcelain"]
        for option in options:
            args += ["-o", option]
        result = git(self.work, *args, url or f"file://{self.bare}", *(refspecs or ("main",)),
                     env=env, check=False)
        if check and result.returncode != 0:
            raise AssertionError(result.stderr.decode("utf-8", "replace"))
        return result

    # ---------------------------------------------------------------- executor
    def set_mode(self, mode: str) -> None:
        (self.executor_dir / "mode").write_text(mode)

    def delivered(self) -> list[tuple[str, str, bytes]]:
        log = self.executor_dir / "delivered.log"
        if not log.exists():
            return []
        lines = [line.split(" ") for line in log.read_text().splitlines()]
        return [(t, s, base64.b64decode(r)) for t, s, r in lines]

    def wait_delivered(self, count: int, timeout: float = 20) -> list[tuple[str, str, bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.delivered()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # and nothing more arrives
        return self.delivered()

    def wait_idle(self, timeout: float = 20) -> None:
        """Until no dispatcher holds the lock."""
        deadline = time.monotonic() + timeout
        while dispatcher_pid(self.bare) and time.monotonic() < deadline:
            time.sleep(0.05)

    def wait_rows(self, state: str, count: int, timeout: float = 20) -> list[Row]:
        deadline = time.monotonic() + timeout
        while True:
            with self.outbox() as outbox:
                rows = outbox.rows(state)
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def outbox(self) -> Outbox:
        return Outbox(self.bare)

    def dispatch(self, env: Mapping[str, str] | None = None) -> int:
        """Run a dispatcher to completion (the module, not the CLI: no unrelated imports)."""
        return subprocess.run([sys.executable, "-m", "conveyor.intake.dispatch", str(self.bare)],
                              env={**os.environ, **(env or {})}, capture_output=True,
                              timeout=60).returncode


def dispatcher_pid(bare: Path) -> int | None:
    """The pid of a running dispatcher holding the lock, if any."""
    import fcntl

    lock = bare / "conveyor" / "dispatch.lock"
    if not lock.exists():
        return None
    with open(lock, "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def make_monorepo(root: Path, services: tuple[str, ...] = ("gateway", "password-strength"),
                  extra_settings: str = "") -> Monorepo:
    executor_dir = root / "executor"
    executor_dir.mkdir()
    (executor_dir / "recorder.py").write_text(RECORDER)
    (executor_dir / "mode").write_text("ok")
    work, bare = root / "work", root / "central.git"
    init(work, bare)
    repo = Monorepo(work, bare, executor_dir)
    files: dict[str | bytes, str | bytes] = {
        "conveyor.toml": settings_toml(executor_dir / "recorder.py", extra_settings),
        "protos/api.proto": "syntax = 'proto3';\n",
        "build/base/recipe.toml": "suite = 'bookworm'\n",
        "Jenkinsfile": "// stages\n",
        "k8s/overlays/test/kustomization.yaml": "images: []\n",
        "k8s/overlays/production/kustomization.yaml": "images: []\n",
        "docs/README.md": "docs\n",
    }
    for name in services:
        files[f"pipelines/{name}.toml"] = PIPELINE.format(name=name)
        files[f"services/{name}/app.py"] = f"print('{name}')\n"
    repo.commit(files, "initial", env=PROMOTER)  # it creates k8s/overlays/production/
    return repo


@pytest.fixture
def monorepo(tmp_path: Path) -> Iterator[Monorepo]:
    """A work tree with 2 services; its bare central repository WITHOUT hooks."""
    repo = make_monorepo(tmp_path)
    yield repo
    stop_dispatcher(repo.bare)


@pytest.fixture
def central(monorepo: Monorepo) -> Monorepo:
    """The same, with Conveyor's hooks installed in the bare repository."""
    hook_install.install(monorepo.bare)
    return monorepo


def stop_dispatcher(bare: Path) -> None:
    pid = dispatcher_pid(bare)
    if pid:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
