"""The one git helper of the tests, and the repository mechanics every fixture monorepo shares.

Fixture monorepos differ in what they hold (a recording executor, tiny HTTP services, a
second repository shaped unlike Conveyor's); how they are made is the same: files written,
committed by a fixed identity, and (usually) a bare central repository beside them.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path

IDENTITY = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
PROMOTER = {"GIT_COMMITTER_NAME": "Conveyor Promotions",
            "GIT_COMMITTER_EMAIL": "promotions@conveyor.invalid"}


def git(cwd: Path, *args: str | bytes, env: Mapping[str, str] | None = None,
        input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """git in `cwd` as the test identity (`env` adds to it); bytes in and out."""
    full_env = {**os.environ, **IDENTITY, **(env or {})}
    return subprocess.run(["git", "-C", str(cwd), *args], env=full_env, input=input,
                          capture_output=True, check=check, timeout=60)


def git_text(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """git's standard output as text, stripped."""
    return git(cwd, *args, env=env).stdout.decode("utf-8", "replace").strip()


Files = Mapping[str, str] | Mapping[str | bytes, str | bytes]  # name (bytes: any name) -> content


def write(root: Path, files: Files) -> None:
    """Write files under `root`; text that starts with a newline is dedented."""
    for name, content in files.items():
        path = root / os.fsdecode(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = (textwrap.dedent(content) if content.startswith("\n") else content).encode()
        path.write_bytes(content)


def commit(root: Path, message: str = "change", env: Mapping[str, str] | None = None) -> str:
    """Commit everything in the work tree (even nothing); the new commit's id."""
    git(root, "add", "-A", "--", ".")
    git(root, "commit", "-q", "--allow-empty", "-m", message, env=env)
    return git_text(root, "rev-parse", "HEAD")


def init(work: Path, bare: Path | None = None) -> None:
    """A work tree on `main`, and its bare central repository (origin) when `bare` is given."""
    work.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True, timeout=60)
    if bare is not None:
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True,
                       timeout=60)
        git(work, "remote", "add", "origin", str(bare))
