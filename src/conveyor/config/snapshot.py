"""A committed revision as a configuration source, read through one `git cat-file` process.

`load(repo, rev)` gives the same `Config` as `model.load_commit` with one process instead of
several per pipeline file; the hook's plan cache and the dispatcher read configurations so.
"""

from __future__ import annotations

import os

from conveyor.config import loader, model, sources
from conveyor.git.trees import Trees, is_link


class Snapshot(sources.Source):
    """One revision of a repository, as `conveyor.toml` and `pipelines/` are read from it."""

    def __init__(self, trees: Trees, rev: str) -> None:
        self.trees, self.rev = trees, rev

    def read(self, path: str) -> bytes | None:
        return self.trees.blob(self.rev, path)

    def names(self, directory: str) -> list[str]:
        return self.trees.names(self.rev, directory)

    def is_link_or_outside(self, path: str) -> bool:
        return is_link(self.trees, self.rev, path)

    def exists(self, path: str) -> bool | None:
        return self.trees.oid(self.rev, path.rstrip("/")) is not None


def load(repo: str | os.PathLike[str], rev: str) -> model.Config:
    """The configuration as committed at `rev`."""
    with Trees(repo) as trees:
        return loader.load(Snapshot(trees, rev))
