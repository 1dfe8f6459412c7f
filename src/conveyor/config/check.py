"""A configuration judged as a whole: every problem of every file, and paths that match
nothing at the revision.

`conveyor check`, pre-receive and `conveyor init` use it. Errors are the loader's own
messages (file: key: message), so the hook, the CLI and `load` all say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conveyor.config import loader, schema
from conveyor.config.model import Config, ConfigError
from conveyor.config.sources import Source


@dataclass(frozen=True)
class Report:
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    config: Config | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors


class Overlay(Source):
    """Configuration files from `config` (a not yet committed conveyor.toml and pipelines/),
    everything else from `base` (a commit): how a configuration is tried on old history."""

    def __init__(self, config: Source, base: Source) -> None:
        self.config, self.base = config, base

    @staticmethod
    def is_config(path: str) -> bool:
        return path == "conveyor.toml" or path.startswith("pipelines/") or path == "pipelines"

    def read(self, path: str) -> bytes | None:
        return (self.config if self.is_config(path) else self.base).read(path)

    def names(self, directory: str) -> list[str]:
        return (self.config if self.is_config(directory) else self.base).names(directory)

    def is_link_or_outside(self, path: str) -> bool:
        return self.base.is_link_or_outside(path)

    def exists(self, path: str) -> bool | None:
        return self.base.exists(path)


def files(source: Source) -> list[str]:
    return ["conveyor.toml", *(f"pipelines/{n}" for n in source.names("pipelines")
                               if n.endswith(".toml"))]


def check(source: Source) -> Report:
    errors: list[str] = []
    for file in files(source):
        try:
            data = loader.read_toml(source, file)
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        errors += [f"{file}: {key}: {message}" for key, message in schema.problems(file, data)]
    if errors:
        return Report(tuple(errors), ())
    try:
        config = loader.load(source)
    except ConfigError as exc:
        return Report((str(exc),), ())
    return Report((), tuple(missing_paths(source, config)), config)


def missing_paths(source: Source, config: Config) -> list[str]:
    """A warning per configured path that matches nothing in `source` (a typo, or a folder
    not created yet)."""
    settings = config.settings
    wanted: list[tuple[str, str, str]] = [
        *(("conveyor.toml", "project.global_paths", p) for p in settings.global_paths),
        *(("conveyor.toml", "project.promotion_paths", p) for p in settings.promotion_paths),
        *(("conveyor.toml", "policy.protected_paths", p)
          for p in settings.policy.protected_paths),
    ]
    for p in config.pipelines.values():
        wanted += [(p.file, "service.paths", path) for path in p.paths]
        wanted += [(p.file, "service.depends_on", path) for path in p.dependencies]
        wanted.append((p.file, "image.dockerfile", p.dockerfile))
    found = []
    for file, key, path in wanted:
        if source.exists(path) is False:
            found.append(f"{file}: {key}: {path!r} matches nothing at this revision")
    return found
