"""pre-receive: a branch push whose configuration is broken is refused, with the message
`conveyor check` gives (file, key, error, the closest valid key).

A push is judged by the configuration it carries (conveyor.toml and pipelines/ at each
pushed head), read through the quarantine (pre-receive sees the new objects only there).
A configuration that loaded once is remembered by (conveyor.toml blob, pipelines/ tree,
code stamp) in `<bare>/conveyor/config-cache/checked-*`, so most pushes cost one
`git cat-file --batch-check`; conveyor.config is imported only for a configuration not seen
before.
"""

from __future__ import annotations

import os

from conveyor.errors import ConveyorError
from conveyor.git import spawn as git_spawn
from conveyor.git.spawn import Repo

TYPE_CHECKING = False  # not typing's: importing typing costs a push milliseconds
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from conveyor.config.sources import Source
    from conveyor.intake.ref_updates import RefUpdate


def refusals(repo: Repo, updates: Sequence[RefUpdate], env: Mapping[str, str]) -> list[str]:
    """One `refused <ref>: <file>: <key>: <error>` line per pushed branch whose
    configuration does not load."""
    quarantine = git_spawn.objects_env(env)
    found: list[str] = []
    verdicts: dict[str, str | None] = {}
    for update in updates:
        if set(update.new) == {"0"} or not update.ref.startswith(b"refs/heads/"):
            continue
        toml, tree = git_spawn.batch_check(
            repo, [f"{update.new}:conveyor.toml", f"{update.new}:pipelines"], env=quarantine)
        key = f"{toml[0] if toml else '-'}-{tree[0] if tree else '-'}"
        if key not in verdicts:
            verdicts[key] = _verdict(repo, update.new, key, quarantine)
        if verdicts[key]:
            found.append(f"refused {update.ref_text}: {verdicts[key]} "
                         f"(nothing was changed: fix it, `conveyor check`, push again)")
    return found


def _marker(repo: Repo, key: str) -> str:
    from conveyor.config.plan_cache import code_stamp

    return os.path.join(repo, "conveyor", "config-cache", f"checked-{key}-{code_stamp()[:16]}")


def _verdict(repo: Repo, rev: str, key: str, env: Mapping[str, str]) -> str | None:
    """None when the configuration at `rev` loads, else the loader's error."""
    marker = _marker(repo, key)
    if os.path.exists(marker):
        return None
    from conveyor.config import loader

    try:
        loader.load(pushed(repo, rev, env))
    except ConveyorError as exc:
        return str(exc)
    try:  # best effort: only time is lost without it
        os.makedirs(os.path.dirname(marker), mode=0o700, exist_ok=True)
        os.close(os.open(marker, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        pass
    return None


def pushed(repo: Repo, rev: str, env: Mapping[str, str]) -> Source:
    """A pushed commit as a configuration source, seen through the quarantine (a class made
    here: conveyor.config.model is imported only when a configuration is new)."""
    from conveyor.config.sources import Source

    class Pushed(Source):
        def read(self, path: str) -> bytes | None:
            code, out = git_spawn.run(repo, "cat-file", "blob", f"{rev}:{path}", env=env)
            return out if code == 0 else None

        def names(self, directory: str) -> list[str]:
            prefix = directory.rstrip("/") + "/"
            return sorted(name[len(prefix):] for _mode, name in _entries(prefix))

        def is_link_or_outside(self, path: str) -> bool:
            parts = path.rstrip("/").split("/")
            prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
            return any(mode == "120000" for mode, _name in _entries(*prefixes))

        def exists(self, path: str) -> bool | None:
            [found] = git_spawn.batch_check(repo, [f"{rev}:{path.rstrip('/')}"], env=env)
            return found is not None

    def _entries(*paths: str) -> list[tuple[str, str]]:
        """(mode, path) of each entry `git ls-tree` lists for `paths`."""
        code, out = git_spawn.run(repo, "ls-tree", "-z", rev, "--", *paths, env=env)
        if code != 0:
            raise ConveyorError(f"git ls-tree failed (exit {code})")
        entries = []
        for record in out.split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                entries.append((meta.split(b" ")[0].decode(),
                                name.decode("utf-8", "surrogateescape")))
        return entries

    return Pushed()
