"""Content keys: what a service is built from, hashed, so identity comes from content.

A service's key hashes the git object ids of its owned paths, its dependencies (transitively)
and the global paths. Change detection compares keys at two revisions; images are tagged and
reused by them. On every push's path (through the plan cache), so it imports little.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from conveyor.config.plan_cache import sha256
from conveyor.git.trees import Trees

TYPE_CHECKING = False  # not typing's: see conveyor.intake
if TYPE_CHECKING:
    from conveyor.config.model import Config, Pipeline



def source_paths(config: Config, pipeline: Pipeline,
                 owners: Mapping[str, Pipeline] | None = None) -> tuple[tuple[str, str], ...]:
    """(path, role) pairs a service is built from; a dependency inside another service's
    owned paths pulls in that service's dependencies too (transitive closure)."""
    owners = owners if owners is not None else owned_paths(config)
    result: dict[str, str] = {p: "owned" for p in pipeline.paths}
    pending = list(pipeline.dependencies)
    while pending:
        dep = pending.pop(0)
        if dep in result:
            continue
        result[dep] = "dependency"
        parts = dep.rstrip("/").split("/")
        for i in range(1, len(parts) + 1):
            other = owners.get("/".join(parts[:i]))
            if other is not None and other.name != pipeline.name:
                pending.extend(other.dependencies)
    for path in config.settings.global_paths:
        result.setdefault(path, "global")
    return tuple(result.items())


def owned_paths(config: Config) -> dict[str, Pipeline]:
    return {path.rstrip("/"): p for p in config.pipelines.values() for path in p.paths}


Lookup = Callable[[str, str], "str | None"]  # (rev, path) -> object id


def content_key(lookup: Lookup, rev: str, paths: Sequence[tuple[str, str]]) -> str:
    digest = sha256(b"conveyor-content-key-v1\0")
    for path, _role in paths:
        digest.update(f"{path}\0{lookup(rev, path) or '-'}\n".encode())
    return digest.hexdigest()[:32]


def service_key(repo: str | os.PathLike[str], rev: str, config: Config, service: str) -> str:
    """The content key of one service at `rev` (what `conveyor run` and images use)."""
    with Trees(repo) as trees:
        return content_key(trees.oid, rev, source_paths(config, config.pipeline(service)))
