"""Promotion time from command to healthy, split into decision, commit, deploy (and verify).

Runs against a throw-away fixture monorepo, a bare central repository, an embedded registry
and the tiny `hello` test image (tests/promotion/conftest.py). Goal: decision + commit under
5 s; deploy is dominated by the health waits (trial container, then the swap).

    .venv/bin/python bench/promote.py [--rounds N]
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as workdir:
        os.environ["CONVEYOR_HOME"] = str(Path(workdir) / "home")
        from tests.promotion import conftest as fx

        from conveyor.config import loader
        from conveyor.images import base as base_image
        from conveyor.images import containers, registry_server
        from conveyor.promotion import promote as promotion

        work = Path(workdir)
        address = f"127.0.0.1:{containers.free_port()}"
        registry_server.start(address, work / "registry")
        try:
            base = base_image.ensure(REPO / "build" / "base")
            digests = [fx.build_and_push(base, address, f"b{i}", "good") for i in (1, 2)]
            for digest in digests:
                fx.give_evidence(digest)
            root, central = work / "checkout", work / "central.git"
            subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(central)], check=True)
            subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
            fx._write(root, fx.fixture_files(address))
            fx.git(root, "add", ".")
            fx.git(root, "-c", "user.name=B", "-c", "user.email=b@x.invalid", "commit", "-qm", "b")
            fx.git(root, "remote", "add", "origin", str(central))
            fx.git(root, "push", "-q", "origin", "main")
            cfg = loader.load_dir(root)
            containers.remove_labelled({"conveyor.service": fx.SERVICE})
            figures: dict[str, list[float]] = {}
            quiet = (lambda _message: None)  # noqa: E731
            for round_ in range(args.rounds + 1):
                digest = digests[round_ % 2]
                start = time.monotonic()
                outcome = promotion.promote(cfg, fx.SERVICE, "test", central_url=str(central),
                                            digest=digest, actor="bench", progress=quiet)
                total = time.monotonic() - start
                if round_ == 0:
                    continue  # the first promotion also clones and pulls
                for key, value in {**outcome.timings, "total": total}.items():
                    figures.setdefault(key, []).append(value)
            start = time.monotonic()
            promotion.promote(cfg, fx.SERVICE, "test", central_url=str(central),
                              digest=digests[args.rounds % 2], actor="bench", progress=quiet)
            noop = time.monotonic() - start
        finally:
            containers.remove_labelled({"conveyor.service": "hello"})
            registry_server.stop(address, work / "registry")
    print(f"promotion to test, {args.rounds} rounds (median / max, seconds):")
    for key in ("decision", "commit", "deploy", "verify", "total"):
        values = figures.get(key, [0.0])
        print(f"  {key:<9} {statistics.median(values):6.2f}  {max(values):6.2f}")
    print(f"  re-promote (no-op): {noop:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
