"""Which services a ref update affects, and why: content keys compared at two revisions.

A service's content key hashes the git object ids of everything it is built from (its owned
paths, its dependencies, transitively, and the global paths). Comparing keys at the base
and the pushed revision costs O(services) lookups through one `git cat-file` process, and
force pushes, merges, reverts and renames need no special case.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from conveyor.config.keys import content_key
from conveyor.config.plan_cache import Plan, Plans, sha256
from conveyor.git import spawn
from conveyor.git import trees as snapshot
from conveyor.git.oids import is_zero
from conveyor.intake.ref_updates import RefUpdate, Value, parse_updates

TYPE_CHECKING = False  # not typing's: this module is on every push's path, keep it light
if TYPE_CHECKING:
    from conveyor.config.model import Config
    from conveyor.executors import Trigger

SKIP_OPTION = "conveyor.skip"
ALL_OPTION = "conveyor.all"
__all__ = ["Affected", "Detection", "Detector", "RefUpdate", "parse_updates", "trigger_id",
           "triggers_for"]



PROMOTION_RECORD = "promotion record: nothing to build"  # overlay-only commits


def nothing_changed(total: int, why: str = "") -> str:
    """The pusher's line when no service changed, with the services looked at."""
    return (f"nothing to build (0 of {total} service{'s' if total != 1 else ''} changed"
            f"{'; ' + why if why else ''})")

class Affected(Value):
    __slots__ = ("service", "reason", "content_key")
    service: str
    reason: str
    content_key: str

    def __init__(self, service: str, reason: str, content_key: str) -> None:
        object.__setattr__(self, "service", service)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "content_key", content_key)


class Detection(Value):
    __slots__ = ("update", "affected", "services_total", "note")
    update: RefUpdate
    affected: tuple[Affected, ...]
    services_total: int
    note: str  # why nothing (or everything) is built, for the record

    def __init__(self, update: RefUpdate, affected: tuple[Affected, ...], services_total: int,
                 note: str) -> None:
        object.__setattr__(self, "update", update)
        object.__setattr__(self, "affected", affected)
        object.__setattr__(self, "services_total", services_total)
        object.__setattr__(self, "note", note)


def trigger_id(service: str, content_key: str, ref: bytes, new: str) -> str:
    """The idempotency key the executor receives as TRIGGER_ID."""
    digest = sha256(b"conveyor-trigger-v1\0")
    for part in (service.encode(), content_key.encode(), ref, new.encode()):
        digest.update(len(part).to_bytes(4, "big") + part)
    return digest.hexdigest()[:32]


def triggers_for(detection: Detection, repository: str) -> list[Trigger]:
    """One trigger per affected service, as the executor will receive it."""
    from conveyor.executors import Trigger

    update = detection.update
    return [Trigger(trigger_id(a.service, a.content_key, update.ref, update.new), a.service,
                    a.content_key, update.ref, update.new, repository, a.reason)
            for a in detection.affected]


def _reason(changed: Sequence[tuple[str, str]]) -> str:
    labels = {"owned": "", "dependency": " (dependency)", "global": " (global)"}
    return ", ".join(f"{path} changed{labels[role]}" for path, role in changed)


# ---------------------------------------------------------------- detection


class Detector:
    """Detects the affected services of ref updates in one repository (one git process).

    The configuration at each pushed revision comes as a `Plan` (config_cache): parsed
    once per distinct configuration, then read from the repository's cache."""

    def __init__(self, repo: str | os.PathLike[str]) -> None:
        self.repo = repo
        self._trees = snapshot.Trees(repo)
        self._plans = Plans(repo, self._trees)
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
               config: Config | None = None, uncommitted: bool = False) -> Detection:
        """`config`: use it instead of the configuration at `update.new`; `uncommitted`: it
        is not in the history at all (`plan --config`), so a pipeline file missing at the
        base does not mean its service was just added."""
        if is_zero(update.new):
            return Detection(update, (), 0, "deleted: nothing to build")
        plan = Plan.of(config) if config is not None else self._plans.at(update.new)
        total = len(plan.services)

        def nothing(note: str) -> Detection:
            return Detection(update, (), total, note)

        if SKIP_OPTION in options:
            return nothing(f"skipped by push option {SKIP_OPTION}")
        ref = update.ref.decode("utf-8", "surrogateescape")
        if ref.startswith("refs/tags/"):
            if not plan.build_tags:
                return nothing("tags do not build (build_tags = false)")
            return self._everything(update, plan, f"tag {ref[len('refs/tags/'):]}")
        if not ref.startswith("refs/heads/"):
            return nothing("not a branch or tag")
        branch = ref[len("refs/heads/"):]
        if not plan.triggers(branch):
            return nothing(f"branch {branch} is not in trigger_branches")
        if ALL_OPTION in options:
            return self._everything(update, plan, f"push option {ALL_OPTION}")
        base, why = self._base(update, branch, plan.default_branch)
        if base is None:
            return self._everything(update, plan, why)
        return self._compare(update, plan, base, why, uncommitted)

    def _base(self, update: RefUpdate, branch: str, default: str) -> tuple[str | None, str]:
        """The revision to compare with, or None and why everything builds."""
        if not is_zero(update.old) and self.oid(update.old, "") is not None:
            return update.old, ""
        first = is_zero(update.old)
        if branch == default:
            return None, (f"first push of {default}" if first
                          else f"previous {default} head {update.old[:12]} is gone")
        head = self._trees.commit(f"refs/heads/{default}")
        base = self._merge_base(head, update.new) if head else None
        if base is None:
            return None, f"no common history with {default}"
        return base, f"compared with merge base on {default}"

    def _merge_base(self, a: str, b: str) -> str | None:
        code, out = spawn.run(self.repo, "merge-base", a, b)
        return out.decode().strip() or None if code == 0 else None

    def _everything(self, update: RefUpdate, plan: Plan, reason: str) -> Detection:
        affected = tuple(Affected(name, reason, content_key(self.oid, update.new, paths))
                         for name, _file, paths in plan.services)
        return Detection(update, affected, len(plan.services), reason)

    def _compare(self, update: RefUpdate, plan: Plan, base: str, why: str,
                 uncommitted: bool = False) -> Detection:
        affected, differs = [], {}  # path -> changed between base and new (paths are shared)
        for name, file, paths in plan.services:
            for p, _role in paths:
                if p not in differs:
                    differs[p] = self.oid(base, p) != self.oid(update.new, p)
            changed = [(p, role) for p, role in paths if differs[p]]
            if not uncommitted and self.oid(base, file) is None:
                changed.insert(0, (file, "owned"))
                reason = f"{file} added"
            else:
                reason = _reason(changed)
            if changed:
                key = content_key(self.oid, update.new, paths)
                affected.append(Affected(name, reason, key))
        note = why or "compared with the previous head"
        if not affected and any(self.oid(base, p) != self.oid(update.new, p)
                                for p in plan.promotion_paths):
            note = PROMOTION_RECORD
        elif not affected:
            note = nothing_changed(len(plan.services), why)
        return Detection(update, tuple(affected), len(plan.services), note)
