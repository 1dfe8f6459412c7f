"""The only module that runs git: argument lists, `-z` output, `--` before paths, timeouts."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.git.oids import ZERO_OID as ZERO_OID  # one definition, shared with the hooks
from conveyor.git.oids import is_zero as is_zero
from conveyor.git.spawn import clean_env  # one definition; the hooks' light module owns it
from conveyor.util import proc

GIT_TIMEOUT = 60.0


def run(
    repo: str | os.PathLike[str],
    *args: str,
    input: bytes | None = None,
    timeout: float = GIT_TIMEOUT,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> proc.Result:
    return proc.run(
        ["git", "-C", os.fspath(repo), *args],
        timeout=timeout,
        input=input,
        check=check,
        env=clean_env(env),
    )


def output(repo: str | os.PathLike[str], *args: str, timeout: float = GIT_TIMEOUT) -> str:
    return run(repo, *args, timeout=timeout).text().strip()


def rev_parse(repo: str | os.PathLike[str], rev: str) -> str | None:
    result = run(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    return result.text().strip() if result.ok else None


def object_exists(repo: str | os.PathLike[str], oid: str) -> bool:
    return run(repo, "cat-file", "-e", f"{oid}^{{commit}}", check=False).ok


def show_file(repo: str | os.PathLike[str], rev: str, path: str) -> bytes | None:
    result = run(repo, "cat-file", "blob", f"{rev}:{path}", check=False)
    return result.stdout if result.ok else None


def list_tree(repo: str | os.PathLike[str], rev: str, path: str) -> list[tuple[str, str, str]]:
    """Entries (mode, type, name) directly under `path` at `rev`, read with -z."""
    result = run(repo, "ls-tree", "-z", rev, "--", path.rstrip("/") + "/", check=False)
    entries = []
    for record in result.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, _oid = meta.decode().split(" ")
        entries.append((mode, kind, os.path.basename(name.decode("utf-8", "surrogateescape"))))
    return entries


def commit_time(repo: str | os.PathLike[str], rev: str) -> int:
    return int(output(repo, "show", "-s", "--format=%ct", rev))


def export_tree(
    repo: str | os.PathLike[str], rev: str, paths: Sequence[str], dest: str | os.PathLike[str]
) -> None:
    """Write the files of `paths` at `rev` into `dest` (a workspace made from a commit)."""
    Path(dest).mkdir(parents=True, exist_ok=True)
    archive = run(repo, "archive", "--format=tar", rev, "--", *paths, timeout=300).stdout
    proc.run(["tar", "-x", "-C", os.fspath(dest)], input=archive, timeout=300)
