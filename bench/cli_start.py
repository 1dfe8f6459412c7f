"""Benchmark (prints figures, not a test): how long the `conveyor` command takes to start.

Median wall time of whole processes, each next to a bare `python -c pass` of the same virtual
environment measured in the same rounds (order alternating), as a ratio:

- `conveyor --version`              goal: within 8x a bare Python start;
- `conveyor plan OLD NEW` on a synthetic repository of 12 services over a 100-commit range
                                    goal: under 200 ms.

    .venv/bin/python bench/cli_start.py [--rounds N]
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

SERVICES, COMMITS = 12, 100
IDENTITY = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
SETTINGS = """\
[project]
default_branch = "main"
global_paths = ["build/"]
promotion_paths = ["k8s/overlays/"]

[executor]
kind = "local"
"""
PIPELINE = """\
[service]
name = "{name}"
paths = ["services/{name}/"]
depends_on = ["protos/"]
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env={**os.environ, **IDENTITY}, timeout=60).stdout.strip()


def make_repository(root: Path) -> tuple[Path, str, str]:
    """12 services, then 100 commits touching one service each; returns (repo, old, new)."""
    repo = root / "monorepo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    files = {"conveyor.toml": SETTINGS, "protos/api.proto": "syntax = 'proto3';\n",
             "build/base/recipe.toml": "suite = 'bookworm'\n"}
    for i in range(SERVICES):
        files[f"pipelines/svc{i:02}.toml"] = PIPELINE.format(name=f"svc{i:02}")
        files[f"services/svc{i:02}/app.py"] = "print(0)\n"
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "initial")
    old = git(repo, "rev-parse", "HEAD")
    for n in range(COMMITS):
        (repo / f"services/svc{n % SERVICES:02}/app.py").write_text(f"print({n + 1})\n")
        git(repo, "commit", "-qam", f"change {n}")
    return repo, old, git(repo, "rev-parse", "HEAD")


def seconds(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, timeout=60)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    python = Path(sys.executable)
    conveyor = python.with_name("conveyor")
    with tempfile.TemporaryDirectory() as scratch:
        repo, old, new = make_repository(Path(scratch))
        env_home = Path(scratch) / "home"
        os.environ["CONVEYOR_HOME"] = str(env_home)
        cases = {"python -c pass": [str(python), "-c", "pass"],
                 "conveyor --version": [str(conveyor), "--version"],
                 "conveyor plan (12 services, 100 commits)": [str(conveyor), "plan", old, new]}
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(2):  # warm the page cache and the byte code
            for argv in cases.values():
                seconds(argv, repo)
        for round_ in range(args.rounds):
            order = list(cases.items())
            if round_ % 2:
                order.reverse()
            for name, argv in order:
                times[name].append(seconds(argv, repo))
    bare = statistics.median(times["python -c pass"])
    print(f"rounds: {args.rounds}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} "
          "cores")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:44} median {median * 1000:7.1f} ms   {median / bare:5.1f}x bare Python")
    version = statistics.median(times["conveyor --version"]) / bare
    plan = statistics.median(times["conveyor plan (12 services, 100 commits)"])
    print(f"goal --version within 8x bare Python: {version:.1f}x "
          f"({'met' if version <= 8 else 'NOT met'})")
    print(f"goal plan under 200 ms: {plan * 1000:.0f} ms ({'met' if plan < 0.2 else 'NOT met'})")


if __name__ == "__main__":
    main()
