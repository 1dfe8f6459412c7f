"""Build avoidance, measured: a cold build vs a code-only rebuild vs unchanged content.

    .venv/bin/python bench/build.py [--service password-strength]

Works on a throw-away clone of this repository's HEAD, with its own state directory and its
own registry on a free port (nothing of yours is touched). Goals: code-only rebuild <= 20%
of the cold build; unchanged content (reuse) <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def code_file(clone: Path, service: str) -> Path:
    """A Python source file of the service (not a dependency manifest)."""
    for path in sorted((clone / "services" / service / "src").rglob("*.py")):
        return path
    raise SystemExit(f"services/{service}/src has no Python file to change")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default="password-strength")
    parser.add_argument("--quiet", action="store_true", help="no build output, figures only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as scratch:
        os.environ["CONVEYOR_HOME"] = str(Path(scratch) / "home")
        from conveyor.config import loader
        from conveyor.images import builder as images
        from conveyor.images import containers, registry_server

        clone = Path(scratch) / "monorepo"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        address = f"127.0.0.1:{containers.free_port()}"
        toml = clone / "conveyor.toml"
        toml.write_text(toml.read_text().replace('address = "127.0.0.1:5000"',
                                                 f'address = "{address}"'))
        ident = ["-c", "user.name=bench", "-c", "user.email=bench@conveyor.invalid"]
        git(clone, "add", "conveyor.toml")
        git(clone, *ident, "commit", "-q", "-m", "bench registry")
        registry_server.start(address)
        progress = (lambda _line: None) if args.quiet else print
        try:
            def timed(label: str, no_cache: bool = False) -> tuple[float, images.Built]:
                revision = git(clone, "rev-parse", "HEAD")
                started = time.monotonic()
                built = images.build(loader.load_commit(clone, revision), clone, revision,
                                     args.service, progress=progress, no_cache=no_cache)
                seconds = time.monotonic() - started
                print(f"# {label}: {seconds:.2f}s reused={built.reused} {built.image.digest}",
                      file=sys.stderr)
                return seconds, built

            cold, first = timed("cold (no layer cache)", no_cache=True)
            source = code_file(clone, args.service)
            source.write_text(source.read_text() + "\n# bench: a code-only change\n")
            git(clone, "add", str(source))
            git(clone, *ident, "commit", "-q", "-m", "bench: code-only change")
            code_only, second = timed("code-only change")
            reuse, third = timed("unchanged content")
        finally:
            registry_server.stop(address)
    assert not first.reused and not second.reused and third.reused
    assert second.image.digest != first.image.digest
    assert third.image.digest == second.image.digest
    print(f"service              {args.service}")
    print(f"cold build           {cold:8.2f} s")
    print(f"code-only rebuild    {code_only:8.2f} s   {code_only / cold:6.1%} of cold "
          f"(goal <= 20%: {'met' if code_only <= 0.2 * cold else 'NOT met'})")
    print(f"unchanged (reuse)    {reuse:8.2f} s   {reuse / cold:6.1%} of cold "
          f"(goal <= 2 s: {'met' if reuse <= 2 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
