"""What change detection needs of a commit's configuration, cached per configuration.

Parsing conveyor.toml and every pipelines/*.toml is most of what detection costs (200
pipeline files: tens of milliseconds, plus importing tomllib, dataclasses and
conveyor.config). A `Plan` is the part of a `Config` detection uses: the trigger settings and,
in dependency order, each service's name, pipeline file and source paths. It depends only on
the conveyor.toml blob and the pipelines/ tree, so it is cached per (blob id, tree id) in
`<bare>/conveyor/config-cache/` (marshal: no import, written by this module only), and
invalidated when the code that makes it changes (`STAMPED`: model, loader, schema, keys and
this module).

One rule of the loader depends on more than those two objects: a service path must not be a
symbolic link (or go through one) at the revision. A Plan from the cache re-checks it at
every revision, with the error `config.load` would give.
"""

from __future__ import annotations

import marshal
import os

try:  # hashlib would load OpenSSL first: milliseconds on every push, for the same digest
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import sha256

TYPE_CHECKING = False  # not typing's: importing typing costs a push milliseconds
if TYPE_CHECKING:
    from conveyor.config.model import Config
    from conveyor.git.trees import Trees

CACHE_VERSION = 1
REGULAR = ("100644", "100755")
Service = tuple[str, str, tuple[tuple[str, str], ...]]  # (name, pipeline file, source paths)


class Plan:
    """The detection view of a Config (plain data: cheap to cache and to load)."""

    __slots__ = ("default_branch", "trigger_branches", "build_tags", "promotion_paths",
                 "services", "owned")

    def __init__(self, default_branch: str, trigger_branches: tuple[str, ...], build_tags: bool,
                 promotion_paths: tuple[str, ...], services: tuple[Service, ...],
                 owned: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self.default_branch = default_branch
        self.trigger_branches = trigger_branches
        self.build_tags = build_tags
        self.promotion_paths = promotion_paths
        self.services = services  # in dependency order (Config.in_dependency_order)
        self.owned = owned  # (pipeline file, owned paths) in the order the loader checks them

    @classmethod
    def of(cls, config: Config) -> Plan:
        from conveyor.config.keys import owned_paths, source_paths

        settings, owners = config.settings, owned_paths(config)
        order = config.in_dependency_order(config.pipelines)
        return cls(settings.default_branch, tuple(settings.trigger_branches),
                   settings.build_tags, tuple(settings.promotion_paths),
                   tuple((name, config.pipelines[name].file,
                          source_paths(config, config.pipelines[name], owners))
                         for name in order),
                   tuple((p.file, tuple(p.paths)) for p in config.pipelines.values()))

    def triggers(self, branch: str) -> bool:
        """Settings.triggers: does a push to `branch` build (fnmatch on trigger_branches)?"""
        if "*" in self.trigger_branches:
            return True  # fnmatchcase(anything, "*"), without importing fnmatch (and re)
        from fnmatch import fnmatchcase

        return any(fnmatchcase(branch, p) for p in self.trigger_branches)

    def as_data(self) -> dict[str, object]:
        return {"version": CACHE_VERSION, "default_branch": self.default_branch,
                "trigger_branches": self.trigger_branches, "build_tags": self.build_tags,
                "promotion_paths": self.promotion_paths, "services": self.services,
                "owned": self.owned}

    @classmethod
    def from_data(cls, data: dict[str, object]) -> Plan:
        return cls(data["default_branch"], data["trigger_branches"],  # type: ignore[arg-type]
                   bool(data["build_tags"]), data["promotion_paths"],  # type: ignore[arg-type]
                   data["services"], data["owned"])  # type: ignore[arg-type]

    def check_links(self, trees: Trees, rev: str) -> None:
        """The loader's symbolic-link rule at `rev`, with its error (first file, first path)."""
        from conveyor.git.trees import is_link

        for file, paths in self.owned:
            for path in paths:
                if is_link(trees, rev, path):
                    from conveyor.config.model import ConfigError

                    raise ConfigError(file, "service.paths",
                                      f"{path!r} is a symbolic link or leaves the repository")


# The code that makes a Plan, relative to the conveyor package (a test checks each exists).
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAMPED = ("config/model.py", "config/loader.py", "config/schema.py", "config/plan_cache.py",
           "config/keys.py")


def code_stamp() -> str:
    """Changes when the code that makes a Plan does (an upgrade must not reuse old plans)."""
    digest = sha256(f"{CACHE_VERSION}".encode())
    for name in STAMPED:
        try:
            with open(os.path.join(PACKAGE, name), "rb") as source:
                digest.update(source.read())
        except OSError:
            digest.update(b"-")
    return digest.hexdigest()


def cache_dir(repo: str | os.PathLike[str]) -> str | None:
    """`<bare>/conveyor/config-cache` for a repository with Conveyor's hooks (its conveyor/
    folder exists), else None: a work tree or a plain repository gets no cache files."""
    root = os.fspath(repo)
    if not (os.path.isdir(os.path.join(root, "objects"))
            and os.path.isfile(os.path.join(root, "HEAD"))
            and os.path.isdir(os.path.join(root, "conveyor"))):
        return None
    return os.path.join(root, "conveyor", "config-cache")


class Plans:
    """Plans of the revisions of one repository: memory, then the cache, then config.load."""

    def __init__(self, repo: str | os.PathLike[str], trees: Trees) -> None:
        self.trees = trees
        self.folder = cache_dir(repo)
        self._memory: dict[str, Plan] = {}
        self._stamp: str | None = None

    def key(self, rev: str) -> str | None:
        """The cache key of the configuration at `rev`: conveyor.toml blob, pipelines/ tree."""
        toml = self.trees.entry(rev, "conveyor.toml")
        if toml is None or toml[0] not in REGULAR:
            return None  # missing or odd: config.load gives the error, nothing is cached
        pipelines = self.trees.entry(rev, "pipelines")
        return f"{toml[2]}-{pipelines[0] + pipelines[2] if pipelines else 'none'}"

    def at(self, rev: str) -> Plan:
        key = self.key(rev)
        if key is not None:
            plan = self._memory.get(key) or self._read(key)
            if plan is not None:
                self._memory[key] = plan
                plan.check_links(self.trees, rev)
                return plan
        from conveyor.config import loader
        from conveyor.config.snapshot import Snapshot

        plan = Plan.of(loader.load(Snapshot(self.trees, rev)))  # checks the links itself
        if key is not None:
            self._memory[key] = plan
            self._write(key, plan)
        return plan

    def _stamp_now(self) -> str:
        if self._stamp is None:
            self._stamp = code_stamp()
        return self._stamp

    def _read(self, key: str) -> Plan | None:
        if self.folder is None:
            return None
        try:
            with open(os.path.join(self.folder, f"{key}.marshal"), "rb") as handle:
                data = marshal.loads(handle.read())  # load(file): many tiny reads
            if data.get("version") == CACHE_VERSION and data.get("code") == self._stamp_now():
                return Plan.from_data(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError):
            pass
        return None

    def _write(self, key: str, plan: Plan) -> None:
        if self.folder is None:
            return
        from conveyor.util import atomic

        try:  # best effort: a cache that cannot be written only costs time
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            data = marshal.dumps({**plan.as_data(), "code": self._stamp_now()})
            atomic.write_bytes(os.path.join(self.folder, f"{key}.marshal"), data, 0o600,
                               durable=False)
        except (OSError, ValueError):
            pass
