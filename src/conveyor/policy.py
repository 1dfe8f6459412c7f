"""pre-receive policy: ref name rules, protected paths, and the optional spool guard.

The policy is read from conveyor.toml on the default branch as it is BEFORE the push (a push
cannot loosen the rules it is judged by); only the very first push of the repository, when
there is no default branch yet, is judged by its own configuration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import config, git, snapshot
from .changes import RefUpdate
from .config import Settings
from .errors import ConveyorError
from .spool import Outbox

QUARANTINE_VARS = ("GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY",
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES")
EMAIL = re.compile(r"<([^>]*)>")


def trusted_settings(repo: Path, updates: Sequence[RefUpdate], env: Mapping[str, str]) -> (
        Settings | None):
    """Settings on the default branch before this push; a first push is judged by itself."""
    head = git.rev_parse(repo, "HEAD")
    if head:
        with snapshot.Trees(repo) as trees:  # conveyor.toml only: pipelines are not needed
            settings = config.load_settings(trees.at(head))
            current = git.rev_parse(repo, f"refs/heads/{settings.default_branch}")
            if current and current != head:
                settings = config.load_settings(trees.at(current))
        return settings
    for update in updates:  # new objects are visible only through the quarantine env
        if not git.is_zero(update.new):
            data = git.run(repo, "cat-file", "blob", f"{update.new}:conveyor.toml",
                           env=_objects_env(env), check=False)
            return config.load_settings(_OneFile(data.stdout)) if data.ok else None
    return None


class _OneFile(config.Source):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, path: str) -> bytes | None:
        return self.data if path == "conveyor.toml" else None


def _objects_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: env[k] for k in QUARANTINE_VARS if k in env}


def identity_email(identity: str) -> str:
    match = EMAIL.search(identity)
    return (match.group(1) if match else identity).strip().lower()


def is_guarded(repo: Path, settings: Settings | None) -> bool:
    result = git.run(repo, "config", "--bool", "--get", "conveyor.guard", check=False)
    configured = bool(settings and getattr(settings.policy, "guard", False))
    return result.text().strip() == "true" or configured


def spool_problem(repo: Path) -> str | None:
    """Why the outbox cannot take a write now, or None."""
    try:
        with Outbox(repo) as outbox, outbox.transaction() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS guard_probe (x)")
            tx.execute("DROP TABLE guard_probe")
    except ConveyorError as exc:
        return str(exc)
    except Exception as exc:
        return f"CI spool unavailable: {exc}"
    return None


def violations(repo: Path, update: RefUpdate, settings: Settings,
               env: Mapping[str, str]) -> list[str]:
    ref = update.ref_text
    pattern = re.compile(settings.policy.ref_pattern.encode("utf-8"))
    if not pattern.search(update.ref):
        return [f"refused {ref}: ref name does not match policy.ref_pattern "
                f"{settings.policy.ref_pattern}"]
    if git.is_zero(update.new):
        return []
    pusher = (env.get("REMOTE_USER") or env.get("CONVEYOR_PUSHER") or "").strip().lower()
    found = []
    for prefix, identities in settings.policy.protected_paths.items():
        allowed = {identity_email(i) for i in identities}
        if pusher and identity_email(pusher) in allowed:
            continue
        log = git.run(repo, "log", "-z", "--format=%H %ce", update.new, "--not", "--all",
                      "--", prefix, env=_objects_env(env))
        for record in log.stdout.split(b"\0"):
            if not record.strip():
                continue
            commit, _, email = record.decode("utf-8", "replace").strip().partition(" ")
            if email.lower() not in allowed:
                found.append(f"refused {ref}: {prefix} may only be changed by "
                             f"{', '.join(sorted(allowed))} (commit {commit[:12]} "
                             f"committed by {email})")
                break
    return found


def check(repo: Path, updates: Sequence[RefUpdate], env: Mapping[str, str]) -> list[str]:
    """One line per refusal; empty when the push may proceed."""
    if not updates:
        return []
    settings = trusted_settings(repo, updates, env)
    if is_guarded(repo, settings):
        problem = spool_problem(repo)
        if problem:
            return [f"refused: CI spool unavailable, push rejected (guard mode): {problem}"]
    if settings is None:
        return []
    return [line for update in updates for line in violations(repo, update, settings, env)]

