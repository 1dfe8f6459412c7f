"""Which services a ref update affects, and why: content keys compared at two revisions.

A service's content key hashes the git object ids of everything it is built from (its owned
paths, its dependencies, transitively, and the global paths). Comparing keys at the base
and the pushed revision costs O(services) lookups through one `git cat-file` process, and
force pushes, merges, reverts and renames need no special case.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from . import git, snapshot
from .config import Config, Pipeline
from .config import load as load_config
from .executors import Trigger
from .ref_updates import RefUpdate, parse_updates

SKIP_OPTION = "conveyor.skip"
ALL_OPTION = "conveyor.all"
__all__ = ["Affected", "Detection", "Detector", "RefUpdate", "content_key", "parse_updates",
           "service_key", "source_paths", "trigger_id", "triggers_for"]


@dataclass(frozen=True)
class Affected:
    service: str
    reason: str
    content_key: str


@dataclass(frozen=True)
class Detection:
    update: RefUpdate
    affected: tuple[Affected, ...]
    services_total: int
    note: str  # why nothing (or everything) is built, for the record


def trigger_id(service: str, content_key: str, ref: bytes, new: str) -> str:
    """The idempotency key the executor receives as TRIGGER_ID."""
    digest = hashlib.sha256(b"conveyor-trigger-v1\0")
    for part in (service.encode(), content_key.encode(), ref, new.encode()):
        digest.update(len(part).to_bytes(4, "big") + part)
    return digest.hexdigest()[:32]


def triggers_for(detection: Detection, repository: str) -> list[Trigger]:
    """One trigger per affected service, as the executor will receive it."""
    update = detection.update
    return [Trigger(trigger_id(a.service, a.content_key, update.ref, update.new), a.service,
                    a.content_key, update.ref, update.new, repository, a.reason)
            for a in detection.affected]


# ---------------------------------------------------------------- content keys


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


def _in_order(config: Config) -> list[Pipeline]:
    """Dependencies first: their triggers are delivered, and so run, before their dependents'."""
    return [config.pipelines[name] for name in config.in_dependency_order(config.pipelines)]


def owned_paths(config: Config) -> dict[str, Pipeline]:
    return {path.rstrip("/"): p for p in config.pipelines.values() for path in p.paths}


def _within(path: str, prefix: str) -> bool:
    return path.rstrip("/") == prefix.rstrip("/") or path.startswith(prefix.rstrip("/") + "/")


Lookup = Callable[[str, str], "str | None"]  # (rev, path) -> object id


def content_key(lookup: Lookup, rev: str, paths: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.sha256(b"conveyor-content-key-v1\0")
    for path, _role in paths:
        digest.update(f"{path}\0{lookup(rev, path) or '-'}\n".encode())
    return digest.hexdigest()[:32]


def service_key(repo: str | os.PathLike[str], rev: str, config: Config, service: str) -> str:
    """The content key of one service at `rev` (what `conveyor run` and images use)."""
    with snapshot.Trees(repo) as trees:
        return content_key(trees.oid, rev, source_paths(config, config.pipeline(service)))


def _reason(changed: Sequence[tuple[str, str]]) -> str:
    labels = {"owned": "", "dependency": " (dependency)", "global": " (global)"}
    return ", ".join(f"{path} changed{labels[role]}" for path, role in changed)


# ---------------------------------------------------------------- detection


@dataclass
class Detector:
    """Detects the affected services of ref updates in one repository (one git process)."""

    repo: str | os.PathLike[str]

    def __post_init__(self) -> None:
        self._trees = snapshot.Trees(self.repo)
        self._oids: dict[tuple[str, str], str | None] = {}

    def oid(self, rev: str, path: str) -> str | None:
        if (rev, path) not in self._oids:
            self._oids[(rev, path)] = self._trees.oid(rev, path)
        return self._oids[(rev, path)]

    def close(self) -> None:
        self._trees.close()

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def detect(self, update: RefUpdate, options: Sequence[str] = (),
               config: Config | None = None) -> Detection:
        if git.is_zero(update.new):
            return Detection(update, (), 0, "deleted: nothing to build")
        config = config or load_config(self._trees.at(update.new))
        settings = config.settings
        total = len(config.pipelines)

        def nothing(note: str) -> Detection:
            return Detection(update, (), total, note)

        if SKIP_OPTION in options:
            return nothing(f"skipped by push option {SKIP_OPTION}")
        ref = update.ref.decode("utf-8", "surrogateescape")
        if ref.startswith("refs/tags/"):
            if not settings.build_tags:
                return nothing("tags do not build (build_tags = false)")
            return self._everything(update, config, f"tag {ref[len('refs/tags/'):]}")
        if not ref.startswith("refs/heads/"):
            return nothing("not a branch or tag")
        branch = ref[len("refs/heads/"):]
        if not settings.triggers(branch):
            return nothing(f"branch {branch} is not in trigger_branches")
        if ALL_OPTION in options:
            return self._everything(update, config, f"push option {ALL_OPTION}")
        base, why = self._base(update, branch, settings.default_branch)
        if base is None:
            return self._everything(update, config, why)
        return self._compare(update, config, base, why)

    def _base(self, update: RefUpdate, branch: str, default: str) -> tuple[str | None, str]:
        """The revision to compare with, or None and why everything builds."""
        if not git.is_zero(update.old) and self.oid(update.old, "") is not None:
            return update.old, ""
        first = git.is_zero(update.old)
        if branch == default:
            return None, (f"first push of {default}" if first
                          else f"previous {default} head {update.old[:12]} is gone")
        head = git.rev_parse(self.repo, f"refs/heads/{default}")
        base = git.merge_base(self.repo, head, update.new) if head else None
        if base is None:
            return None, f"no common history with {default}"
        return base, f"compared with merge base on {default}"

    def _everything(self, update: RefUpdate, config: Config, reason: str) -> Detection:
        owners = owned_paths(config)
        affected = tuple(
            Affected(p.name, reason,
                     content_key(self.oid, update.new, source_paths(config, p, owners)))
            for p in _in_order(config))
        return Detection(update, affected, len(config.pipelines), reason)

    def _compare(self, update: RefUpdate, config: Config, base: str, why: str) -> Detection:
        affected, owners = [], owned_paths(config)
        for pipeline in _in_order(config):
            paths = source_paths(config, pipeline, owners)
            changed = [(p, role) for p, role in paths
                       if self.oid(base, p) != self.oid(update.new, p)]
            if self.oid(base, pipeline.file) is None:
                changed.insert(0, (pipeline.file, "owned"))
                reason = f"{pipeline.file} added"
            else:
                reason = _reason(changed)
            if changed:
                key = content_key(self.oid, update.new, paths)
                affected.append(Affected(pipeline.name, reason, key))
        note = why or "compared with the previous head"
        if not affected and any(self.oid(base, p) != self.oid(update.new, p)
                                for p in config.settings.promotion_paths):
            note = "promotion record: nothing to build"
        return Detection(update, tuple(affected), len(config.pipelines), note)
