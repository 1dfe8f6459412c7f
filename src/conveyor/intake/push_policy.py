"""pre-receive policy: ref name rules, protected paths, and the optional spool guard.

The policy is read from conveyor.toml on the default branch as it is BEFORE the push (a push
cannot loosen the rules it is judged by); only the very first push of the repository, when
there is no default branch yet, is judged by its own configuration.

pre-receive runs on every push, so this module keeps to a fast path: git through
`git.spawn` (no subprocess), and the policy part of conveyor.toml cached per blob id in
`<bare>/conveyor/policy-cache/`, marshal (conveyor.config, tomllib and dataclasses are imported only
when a conveyor.toml is seen for the first time). Protected paths cost one path-limited
`git log` per pushed ref over the commits new to the repository, whatever their number.
"""

from __future__ import annotations

import marshal
import os

from conveyor.errors import ConveyorError
from conveyor.git import spawn as git_spawn
from conveyor.git.oids import is_zero
from conveyor.git.spawn import Repo

TYPE_CHECKING = False  # not typing's: importing typing costs a push milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from conveyor.config.model import Settings
    from conveyor.intake.ref_updates import RefUpdate


CACHE_VERSION = 2  # View gained pusher_variable
# config's default policy.ref_pattern, checked without importing re (most pushes use it)
DEFAULT_REF_PATTERN = r"^refs/(heads|tags)/[^\x00-\x1f\x7f]+$"


class View:
    """What pre-receive needs of conveyor.toml (a plain object: cheap to import and cache)."""

    def __init__(self, default_branch: str, ref_pattern: str,
                 protected_paths: Mapping[str, Sequence[str]], guard: bool,
                 pusher_variable: str = "") -> None:
        self.default_branch = default_branch
        self.ref_pattern = ref_pattern
        self.protected_paths = {p: tuple(i) for p, i in protected_paths.items()}
        self.guard = guard
        self.pusher_variable = pusher_variable

    @classmethod
    def of(cls, settings: Settings) -> View:
        return cls(settings.default_branch, settings.policy.ref_pattern,
                   settings.policy.protected_paths, settings.policy.guard,
                   settings.policy.pusher_variable)

    def as_dict(self) -> dict[str, object]:
        return {"version": CACHE_VERSION, "default_branch": self.default_branch,
                "ref_pattern": self.ref_pattern,
                "protected_paths": {p: list(i) for p, i in self.protected_paths.items()},
                "guard": self.guard, "pusher_variable": self.pusher_variable}


# ---------------------------------------------------------------- which configuration


def _cache_file(repo: Repo, blob: str) -> str:
    return os.path.join(repo, "conveyor", "policy-cache", f"{blob}.marshal")


def view_of_blob(repo: Repo, blob: str, env: Mapping[str, str] | None = None) -> View:
    """The policy of the conveyor.toml blob `blob`: from the cache, else parsed (and cached).
    A cache entry written by other code (the loader's defaults may have changed) is not used."""
    from conveyor.config.plan_cache import code_stamp

    cache, stamp = _cache_file(repo, blob), code_stamp()
    try:
        with open(cache, "rb") as handle:  # written by this module only (marshal: no import)
            data = marshal.loads(handle.read())  # load(file): many tiny reads
        if data.get("version") == CACHE_VERSION and data.get("code") == stamp:
            return View(data["default_branch"], data["ref_pattern"], data["protected_paths"],
                        bool(data["guard"]), data["pusher_variable"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError):
        pass
    code, raw = git_spawn.run(repo, "cat-file", "blob", blob, env=env)
    if code != 0:
        raise ConveyorError(f"cannot read conveyor.toml ({blob[:12]})")
    view = View.of(_settings_of(raw))  # the slow part, once per distinct conveyor.toml
    from conveyor.util import atomic

    try:  # best effort: a cache that cannot be written only costs time
        os.makedirs(os.path.dirname(cache), mode=0o700, exist_ok=True)
        atomic.write_bytes(cache, marshal.dumps({**view.as_dict(), "code": stamp}), 0o600,
                           durable=False)
    except OSError:
        pass
    return view


def _missing_settings() -> View:
    """conveyor.toml absent on the default branch: the same error config.load_settings gives."""
    return View.of(_settings_of(None))


def trusted_view(repo: Repo, updates: Sequence[RefUpdate], env: Mapping[str, str]) -> (
        View | None):
    """The policy on the default branch before this push; a first push is judged by itself."""
    head = git_spawn.batch_check(repo, ["HEAD", "HEAD:conveyor.toml"])
    if head[0] is not None and head[0][1] == "commit":
        view = view_of_blob(repo, head[1][0]) if head[1] else _missing_settings()
        if not _head_is(repo, f"refs/heads/{view.default_branch}"):
            ref = f"refs/heads/{view.default_branch}"
            current = git_spawn.batch_check(repo, [f"{ref}^{{commit}}", f"{ref}:conveyor.toml"])
            if current[0] is not None and current[0][0] != head[0][0]:
                view = view_of_blob(repo, current[1][0]) if current[1] else _missing_settings()
        return view
    quarantine = git_spawn.objects_env(env)  # new objects are visible only through it
    for update in updates:
        if not is_zero(update.new):
            [blob] = git_spawn.batch_check(repo, [f"{update.new}:conveyor.toml"], env=quarantine)
            return view_of_blob(repo, blob[0], quarantine) if blob else None
    return None


def _head_is(repo: Repo, ref: str) -> bool:
    """True when HEAD is the symbolic ref `ref` (read from the HEAD file; False if unsure)."""
    try:
        with open(os.path.join(repo, "HEAD"), "rb") as handle:
            return handle.read().strip() == f"ref: {ref}".encode()
    except OSError:
        return False


def _settings_of(data: bytes | None) -> Settings:
    """config.load_settings of one conveyor.toml (None: missing), config imported only now."""
    from conveyor.config import loader, sources

    class OneFile(sources.Source):
        def read(self, path: str) -> bytes | None:
            return data if path == "conveyor.toml" else None

    return loader.load_settings(OneFile())


# ---------------------------------------------------------------- the rules


def identity_email(identity: str) -> str:
    import re

    match = re.search(r"<([^>]*)>", identity)
    return (match.group(1) if match else identity).strip().lower()


def is_guarded(repo: Repo, view: View | None,
               config: git_spawn.Pending | None = None) -> bool:
    """Guard mode: [policy] guard in conveyor.toml, or `git config conveyor.guard` (`config`:
    that command, already started)."""
    if config is None:
        if view is not None and view.guard:
            return True
        config = _guard_config(repo)
    code, out = config.result()
    return (view is not None and view.guard) or (code == 0 and out.strip() == b"true")


def _guard_config(repo: Repo) -> git_spawn.Pending:
    return git_spawn.start(repo, "config", "--bool", "--get", "conveyor.guard")


def spool_problem(repo: Repo, timeout: float = 30.0,
                  warn: Callable[[str], None] | None = None) -> str | None:
    """Why the outbox cannot take a write now, or None. An outbox still locked by other
    writers after `timeout` seconds is busy, not unavailable: None (and a warning)."""
    from conveyor.intake.outbox import Outbox, SpoolBusy

    try:
        with Outbox(repo, timeout=timeout) as outbox, outbox.transaction() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS guard_probe (x)")
            tx.execute("DROP TABLE guard_probe")
    except SpoolBusy as exc:
        if warn is not None:
            warn(f"guard probe skipped: {exc}")
        return None
    except ConveyorError as exc:
        return str(exc)
    except Exception as exc:
        return f"CI spool unavailable: {exc}"
    return None


def _log(repo: Repo, update: RefUpdate, prefixes: Sequence[str],
         env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(commit, committer email) of the commits new to the repository that `update.new`
    brings and that touch any of `prefixes`, newest first: one path-limited walk."""
    code, out = git_spawn.run(repo, "log", "-z", "--format=%H %ce", update.new, "--not", "--all",
                             "--", *prefixes, env=git_spawn.objects_env(env))
    if code != 0:
        raise ConveyorError(f"git log failed (exit {code}) for {update.ref_text}")
    found = []
    for record in out.split(b"\0"):
        if record.strip():
            commit, _, email = record.decode("utf-8", "replace").strip().partition(" ")
            found.append((commit, email))
    return found


def ref_allowed(pattern: str, ref: bytes) -> bool:
    """`re.search(pattern, ref)`; the default pattern without importing re."""
    if pattern == DEFAULT_REF_PATTERN:
        for prefix in (b"refs/heads/", b"refs/tags/"):
            if ref.startswith(prefix):
                rest = ref[len(prefix):]
                rest = rest[:-1] if rest.endswith(b"\n") else rest  # as `$` allows
                return bool(rest) and all(0x20 <= c != 0x7f for c in rest)
        return False
    import re

    return re.compile(pattern.encode("utf-8")).search(ref) is not None


def violations(repo: Repo, update: RefUpdate, view: View, env: Mapping[str, str],
               protect: bool = True) -> list[str]:
    ref = update.ref_text
    if not ref_allowed(view.ref_pattern, update.ref):
        return [f"refused {ref}: ref name does not match policy.ref_pattern "
                f"{view.ref_pattern}"]
    if is_zero(update.new) or not protect:
        return []
    guarded = {prefix: {identity_email(i) for i in identities}
               for prefix, identities in view.protected_paths.items()}
    if view.pusher_variable:
        # The git server authenticated the pusher: who pushes decides, and a committer
        # field (anyone can write any) is not looked at.
        pusher = identity_email(env.get(view.pusher_variable, ""))
        guarded = {p: allowed for p, allowed in guarded.items() if pusher not in allowed}
        if not guarded or not _log(repo, update, list(guarded), env):
            return []
        who = pusher or f"an unauthenticated pusher (${view.pusher_variable} is not set)"
        return [f"refused {ref}: {prefix} may only be changed by {', '.join(sorted(allowed))}"
                f" (pushed by {who})" for prefix, allowed in guarded.items()
                if _log(repo, update, [prefix], env)][:1]
    if not guarded:
        return []
    # One walk for all the protected paths; almost always it finds nothing.
    if not _log(repo, update, list(guarded), env):
        return []
    found = []
    for prefix, allowed in guarded.items():
        for commit, email in _log(repo, update, [prefix], env):
            if email.lower() not in allowed:
                found.append(f"refused {ref}: {prefix} may only be changed by "
                             f"{', '.join(sorted(allowed))} (commit {commit[:12]} "
                             f"committed by {email})")
                break
    return found


def check(repo: Repo, updates: Sequence[RefUpdate], env: Mapping[str, str],
          warn: Callable[[str], None] | None = None, probe_s: float = 30.0) -> list[str]:
    """One line per refusal; empty when the push may proceed. git commands are bounded by
    git.spawn's deadline (GitTimeout); the guard probe waits at most `probe_s` for the
    outbox lock (then `warn`, and no refusal)."""
    if not updates:
        return []
    config = _guard_config(repo)  # runs while the policy is looked up
    try:
        view = trusted_view(repo, updates, env)
    except BaseException:
        try:  # reaped; the first error is the one to report
            config.result()
        except Exception:
            pass
        raise
    if is_guarded(repo, view, config):
        problem = spool_problem(repo, git_spawn.time_left(probe_s), warn)
        if problem:
            return [f"refused: CI spool unavailable, push rejected (guard mode): {problem}"]
    from conveyor.intake import config_gate

    broken = config_gate.refusals(repo, updates, env)  # a push's own configuration
    if view is None:
        return broken
    # The first push seeds an empty repository: there is nothing to protect yet, and the
    # protected paths' history (written before Conveyor guarded them) comes with it.
    protect = not is_first_push(repo, updates)
    return [line for update in updates
            for line in violations(repo, update, view, env, protect)] + broken


def is_first_push(repo: Repo, updates: Sequence[RefUpdate]) -> bool:
    """Every update creates a ref and the repository has no commit at HEAD yet."""
    if not all(is_zero(update.old) for update in updates):
        return False
    [head] = git_spawn.batch_check(repo, ["HEAD"])
    return head is None and not _has_refs(repo)


def _has_refs(repo: Repo) -> bool:
    """Any branch or tag at all (loose or packed), read without running git."""
    for folder in ("refs/heads", "refs/tags"):
        for _root, _dirs, files in os.walk(os.path.join(repo, folder)):
            if files:
                return True
    try:
        with open(os.path.join(repo, "packed-refs"), "rb") as packed:
            return any(line[:1] not in (b"#", b"^") and line.strip() for line in packed)
    except OSError:
        return False
