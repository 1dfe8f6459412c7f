"""Where configuration files come from: a working directory or a commit of a repository.

(`config.snapshot` adds a third, a commit read through one `git cat-file` process.)
"""

from __future__ import annotations

import os
from pathlib import Path

from conveyor.git import plumbing as git


class Source:
    """Where config files come from: a directory or a commit."""

    def read(self, path: str) -> bytes | None:
        raise NotImplementedError

    def names(self, directory: str) -> list[str]:
        raise NotImplementedError

    def is_link_or_outside(self, path: str) -> bool:
        raise NotImplementedError

    def exists(self, path: str) -> bool | None:
        """Whether anything is at `path` (None: this source cannot tell)."""
        return None


class DirectorySource(Source):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def read(self, path: str) -> bytes | None:
        file = self.root / path
        return file.read_bytes() if file.is_file() else None

    def names(self, directory: str) -> list[str]:
        folder = self.root / directory
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def exists(self, path: str) -> bool | None:
        return (self.root / path.rstrip("/")).exists()

    def is_link_or_outside(self, path: str) -> bool:
        candidate = self.root / path.rstrip("/")
        parts = Path(path.rstrip("/")).parts
        for i in range(1, len(parts) + 1):
            if (self.root.joinpath(*parts[:i])).is_symlink():
                return True
        return not candidate.resolve().is_relative_to(self.root)


class CommitSource(Source):
    def __init__(self, repo: str | os.PathLike[str], rev: str) -> None:
        self.repo, self.rev = repo, rev

    def read(self, path: str) -> bytes | None:
        return git.show_file(self.repo, self.rev, path)

    def exists(self, path: str) -> bool | None:
        spec = f"{self.rev}:{path.rstrip('/')}"
        return git.run(self.repo, "cat-file", "-e", spec, check=False).ok

    def names(self, directory: str) -> list[str]:
        return sorted(name for _mode, _kind, name in git.list_tree(self.repo, self.rev, directory))

    def is_link_or_outside(self, path: str) -> bool:
        parts = path.rstrip("/").split("/")
        for i in range(1, len(parts) + 1):
            parent, name = "/".join(parts[: i - 1]), parts[i - 1]
            for mode, _kind, entry in git.list_tree(self.repo, self.rev, parent) if parent else (
                self._root_entries()
            ):
                if entry == name and mode == "120000":
                    return True
        return False

    def _root_entries(self) -> list[tuple[str, str, str]]:
        result = git.run(self.repo, "ls-tree", "-z", self.rev, check=False)
        entries = []
        for record in result.stdout.split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                mode, kind, _ = meta.decode().split(" ")
                entries.append((mode, kind, name.decode("utf-8", "surrogateescape")))
        return entries
