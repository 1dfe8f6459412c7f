"""A run's workspace: the files of a committed revision (never the working tree)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conveyor.git import plumbing as git


def make(repo: str | os.PathLike[str], revision: str, dest: Path) -> Path:
    """Export the whole tree of `revision` into a fresh `dest`."""
    if dest.exists():
        shutil.rmtree(dest)
    git.export_tree(repo, revision, [], dest)
    return dest


def remove(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
