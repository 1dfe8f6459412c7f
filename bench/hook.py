"""Benchmark (prints figures, not a test): what Conveyor's hooks add to `git push`.

A synthetic monorepo of 200 services and 100,000 files is made with `git fast-import`.
Two bare repositories receive the same pushes: one with Conveyor's hooks (command executor
running `true`), one with a no-op post-receive. Reported: time added to a 1-commit push and
to a 10,000-commit push, and `conveyor plan` (in-process: config at the pushed revision and
content keys) against `git diff --name-only OLD NEW` on the same pair.

    .venv/bin/python bench/hook.py [--keep DIR]   (DIR's synthetic repo is made once, reused)
        [--one-runs N]   rounds of the three 1-commit pushes (default 1: 3 samples)
        [--long-runs N]  times the 10,000-commit push is timed (0: not at all)

The machine may be shared: pushes are paired (with and without the hooks, order alternating
by round) and medians reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conveyor.config import (
    model,  # noqa: F401  (imported lazily by detection: "plan" times parsing)
    snapshot,
)
from conveyor.intake import install as hook_install
from conveyor.intake.changes import Detector, RefUpdate
from conveyor.util import locks

SERVICES, FILES_PER_SERVICE, LONG = 200, 500, 10_000
IDENTITY = "Bench <bench@example.com> 1700000000 +0000"


def stream(out: list[bytes]) -> None:
    def blob(path: str, data: str) -> None:
        raw = data.encode()
        out.append(f"M 100644 inline {path}\ndata {len(raw)}\n".encode() + raw + b"\n")

    def commit(ref: str, message: str) -> None:
        out.append(f"commit {ref}\ncommitter {IDENTITY}\ndata {len(message)}\n{message}\n"
                   .encode())

    commit("refs/heads/main", "base")
    blob("conveyor.toml", '[project]\ndefault_branch = "main"\n[executor]\nkind = "command"\n'
         'command = ["true"]\n')
    blob("protos/api.proto", "syntax = 'proto3';\n")
    blob("build/base/recipe.toml", "x = 1\n")
    for s in range(SERVICES):
        name = f"svc-{s:03d}"
        blob(f"pipelines/{name}.toml", f'[service]\nname = "{name}"\n'
             f'depends_on = ["protos/"]\n')
        for f in range(FILES_PER_SERVICE - (1 if s < 5 else 0)):
            blob(f"services/{name}/src/f{f:03d}.py", f"# {name} {f}\n")
    for i in range(1, 4):  # three 1-commit pushes
        commit("refs/heads/main", f"one {i}")
        blob("services/svc-007/src/f000.py", f"# one {i}\n")
    out.append(b"reset refs/tags/one\nfrom refs/heads/main\n\n")
    for i in range(LONG):
        commit("refs/heads/main", f"long {i}")
        blob(f"services/svc-{i % 20:03d}/src/f001.py", f"# long {i}\n")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def timed_push(source: Path, target: Path, rev: str) -> float:
    start = time.perf_counter()
    subprocess.run(["git", "-C", str(source), "push", "-q", f"file://{target}",
                    f"{rev}:refs/heads/main"], check=True, capture_output=True)
    return time.perf_counter() - start


def wait_idle(bare: Path) -> None:
    from conveyor.intake.outbox import Outbox

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with Outbox(bare) as outbox:
            if not outbox.has_work():
                return
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--budget-ms", help="conveyor.hookBudgetMs for the hooked repository "
                        "(0: detection always in the dispatcher)")
    parser.add_argument("--long-runs", type=int, default=3,
                        help="how many times the 10,000-commit push is timed (default 3; 0: "
                        "not timed)")
    parser.add_argument("--one-runs", type=int, default=1,
                        help="rounds of the three 1-commit pushes (default 1: 3 samples)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="conveyor-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CONVEYOR_HOME", str(root / "home"))
    source, hooked, plain = root / "source.git", root / "hooked.git", root / "plain.git"
    if not source.exists():
        start = time.perf_counter()
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(source)], check=True)
        chunks: list[bytes] = []
        stream(chunks)
        subprocess.run(["git", "-C", str(source), "fast-import", "--quiet"],
                       input=b"".join(chunks), check=True)
        print(f"synthetic repo: {SERVICES} services, "
              f"{len(git(source, 'ls-tree', '-r', '--name-only', 'main').splitlines())} files, "
              f"made in {time.perf_counter() - start:.1f}s")
    base = git(source, "rev-parse", "tags/one~3")
    ones = [git(source, "rev-parse", f"tags/one~{n}") for n in (2, 1, 0)]
    tip = git(source, "rev-parse", "main")
    for bare in (hooked, plain):  # the synthetic source is reused with --keep; these are not
        subprocess.run(["rm", "-rf", str(bare)], check=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    noop = plain / "hooks" / "post-receive"
    noop.write_text("#!/bin/sh\ncat >/dev/null\n")
    noop.chmod(0o755)
    hook_install.install(hooked)
    if args.budget_ms is not None:
        git(hooked, "config", "conveyor.hookBudgetMs", args.budget_ms)
        print(f"conveyor.hookBudgetMs = {args.budget_ms}")
    for bare in (hooked, plain):
        timed_push(source, bare, base)
    wait_idle(hooked)

    added_one = []
    for run in range(args.one_runs):
        if run:  # back to the base, without hooks, and the same three pushes again
            for bare in (hooked, plain):
                git(bare, "update-ref", "refs/heads/main", base)
        for rev in ones:
            if run % 2:
                without, with_hook = timed_push(source, plain, rev), timed_push(source, hooked, rev)
            else:
                with_hook, without = timed_push(source, hooked, rev), timed_push(source, plain, rev)
            added_one.append(with_hook - without)
            wait_idle(hooked)
    added_long, pushes = [], []
    for run in range(args.long_runs):  # git's own work is seconds here: pair, alternate, median
        for bare in (hooked, plain):  # back to the last 1-commit head, without hooks
            git(bare, "update-ref", "refs/heads/main", ones[-1])
        if run % 2:
            without, with_hook = timed_push(source, plain, tip), timed_push(source, hooked, tip)
        else:
            with_hook, without = timed_push(source, hooked, tip), timed_push(source, plain, tip)
        added_long.append(with_hook - without)
        pushes.append((with_hook, without))
        wait_idle(hooked)
    print(f"1-commit push: hook adds {1000 * statistics.median(added_one):.0f} ms "
          f"(median of {len(added_one)}; goal < 100 ms)")
    if pushes:
        with_hook, without = (statistics.median(p) for p in zip(*pushes, strict=True))
        print(f"{LONG}-commit push: hook adds {1000 * statistics.median(added_long):.0f} ms "
              f"(median of {len(added_long)}; push {with_hook:.2f}s vs {without:.2f}s no-op; "
              f"goal < 300 ms)")

    old = ones[-1]
    start = time.perf_counter()
    names = subprocess.run(["git", "-C", str(source), "diff", "--name-only", "-z", old, tip],
                           check=True, capture_output=True).stdout.count(b"\0")
    diff_s = time.perf_counter() - start
    start = time.perf_counter()
    loaded = snapshot.load(source, tip)
    loaded_s = time.perf_counter() - start
    with Detector(source) as detector:
        found = detector.detect(RefUpdate(old, tip, b"refs/heads/main"), (), loaded)
    plan_s = time.perf_counter() - start
    print(f"plan {old[:8]}..{tip[:8]} ({LONG} commits): {len(found.affected)} of "
          f"{found.services_total} services in {1000 * plan_s:.0f} ms "
          f"(config {1000 * loaded_s:.0f} ms); git diff --name-only: {names} paths in "
          f"{1000 * diff_s:.0f} ms; plan/diff = {plan_s / diff_s:.2f}")
    if not args.keep:
        # The hooks' detached dispatcher may still be writing its log: wait for its lock.
        with locks.hold(hooked / "conveyor" / "dispatch.lock"):
            subprocess.run(["rm", "-rf", str(root)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
