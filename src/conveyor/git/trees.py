"""Commits of a repository, read through one persistent `git cat-file --batch` process.

`Trees` answers the object id of any path at any revision by walking tree objects it has
parsed once (a path under `services/` costs one in-memory step after the first service), so
content keys for 200 services at two revisions cost a handful of object reads, not hundreds
of round trips. `conveyor.config.snapshot` reads a configuration through it.

The hook detects with it, so it stays light: the git process is started by `git.spawn`
(posix_spawn, no subprocess).
"""

from __future__ import annotations

import _thread
import os

from conveyor.errors import ConveyorError
from conveyor.git import spawn as git_spawn

Entry = tuple[str, bytes, str]  # (mode, name, oid)


class Trees:
    def __init__(self, repo: str | os.PathLike[str]) -> None:
        self._lock = _thread.allocate_lock()  # not threading's: a push imports this module
        self._trees: dict[str, list[Entry]] = {}
        self._index: dict[str, dict[bytes, Entry]] = {}
        self._roots: dict[str, str | None] = {}
        self._entries: dict[tuple[str, str], Entry | None] = {}
        self._pid, stdin, stdout = git_spawn.spawn(repo, "cat-file", "--batch")
        self._stdin = os.fdopen(stdin, "wb")
        self._stdout = os.fdopen(stdout, "rb")
        self._closed = False

    # ------------------------------------------------------------ objects

    def _object(self, spec: str) -> tuple[str, str, bytes] | None:
        if "\n" in spec:
            raise ConveyorError(f"cannot look up a name with a newline: {spec!r}")
        stdin, stdout = self._stdin, self._stdout
        with self._lock:
            if self._closed:
                raise ConveyorError("git cat-file --batch is closed")
            stdin.write(spec.encode("utf-8", "surrogateescape") + b"\n")
            stdin.flush()
            header = stdout.readline()
            if not header:
                raise ConveyorError("git cat-file --batch ended unexpectedly")
            fields = header.split()
            if len(fields) != 3:
                return None  # "<spec> missing" / "ambiguous"
            size = int(fields[2])
            data = stdout.read(size + 1)[:-1]
        return fields[0].decode(), fields[1].decode(), data

    def _tree(self, oid: str) -> list[Entry]:
        if oid not in self._trees:
            found = self._object(oid)
            if found is None or found[1] != "tree":
                raise ConveyorError(f"not a tree: {oid}")
            self._trees[oid] = parse_tree(found[2])
        return self._trees[oid]

    def root(self, rev: str) -> str | None:
        """The root tree of `rev`, or None when `rev` does not exist (e.g. pruned)."""
        if rev not in self._roots:
            found = self._object(f"{rev}^{{tree}}")
            self._roots[rev] = found[0] if found is not None else None
            if found is not None:
                self._trees.setdefault(found[0], parse_tree(found[2]))
        return self._roots[rev]

    def oid(self, rev: str, path: str) -> str | None:
        """The object id of `rev:path` ("" is the root tree), or None."""
        entry = self.entry(rev, path)
        return entry[2] if entry is not None else None

    def entry(self, rev: str, path: str) -> Entry | None:
        """The tree entry of `path` at `rev`, walking from the root tree (remembered)."""
        key = (rev, path)
        if key not in self._entries:
            self._entries[key] = self._walk(rev, path)
        return self._entries[key]

    def _walk(self, rev: str, path: str) -> Entry | None:
        root = self.root(rev)
        if root is None:
            return None
        entry: Entry = ("40000", b"", root)
        for part in path.strip("/").split("/"):
            if not part:
                continue
            if entry[0] != "40000":
                return None
            tree = entry[2]
            if tree not in self._index:
                self._index[tree] = {e[1]: e for e in self._tree(tree)}
            found = self._index[tree].get(os.fsencode(part))
            if found is None:
                return None
            entry = found
        return entry

    def commit(self, spec: str) -> str | None:
        """The commit `spec` names (like `git rev-parse --verify -q SPEC^{commit}`), or None."""
        found = self._object(f"{spec}^{{commit}}")
        return found[0] if found is not None and found[1] == "commit" else None

    def blob(self, rev: str, path: str) -> bytes | None:
        """The content of the file at `path` in `rev`, or None (absent, or not a file)."""
        found = self._object(f"{rev}:{path}")
        return found[2] if found is not None and found[1] == "blob" else None

    def names(self, rev: str, directory: str) -> list[str]:
        """The entries of `directory` at `rev`, sorted; [] when it is not a directory."""
        entry = self.entry(rev, directory)
        if entry is None or entry[0] != "40000":
            return []
        return sorted(os.fsdecode(name) for _mode, name, _oid in self._tree(entry[2]))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._stdin.close()
            except OSError:
                pass
            self._stdout.close()
            git_spawn.reap(self._pid)

    def __enter__(self) -> Trees:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_link(trees: Trees, rev: str, path: str) -> bool:
    """True when `path`, or a directory on the way to it, is a symbolic link at `rev`
    (what a commit's `config.Source.is_link_or_outside` answers: paths are already checked
    not to leave the repository)."""
    parts = [p for p in path.strip("/").split("/") if p]
    for i in range(1, len(parts) + 1):
        entry = trees.entry(rev, "/".join(parts[:i]))
        if entry is None:
            return False
        if entry[0] == "120000":
            return True
    return False


def parse_tree(data: bytes) -> list[Entry]:
    """Git's binary tree format: `<mode> <name>\\0<20-byte id>` repeated."""
    entries: list[Entry] = []
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        mode = data[pos:space].decode()
        entries.append((mode, data[space + 1:nul], data[nul + 1:nul + 21].hex()))
        pos = nul + 21
    return entries
