"""The build context: a tar made from a committed revision, never from the working tree.

`git archive REV -- <source paths>` plus `.conveyor/ca-bundle.pem` (the host's CA bundle,
for the first build stage only) plus `.conveyor/inputs/<package>/...` for npm inputs.
Added files carry the commit time, so the same revision gives the same context.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterable
from pathlib import Path

from conveyor.config import keys
from conveyor.config.model import Config, Pipeline, Settings
from conveyor.errors import ConfigError
from conveyor.git import plumbing as git
from conveyor.git import trees as snapshot
from conveyor.images import npm_inputs

SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CA_BUNDLE_PATH = ".conveyor/ca-bundle.pem"


def ca_bundle(settings: Settings) -> bytes:
    """The configured CA bundle, else the system one, else nothing (an empty file)."""
    if settings.ca_bundle:
        try:
            return Path(settings.ca_bundle).read_bytes()
        except OSError as exc:
            raise ConfigError(f"conveyor.toml: build.ca_bundle: cannot read: {exc}") from None
    return SYSTEM_CA_BUNDLE.read_bytes() if SYSTEM_CA_BUNDLE.is_file() else b""


def existing_paths(repo: str | os.PathLike[str], revision: str,
                   paths: Iterable[str]) -> list[str]:
    """The paths that exist at `revision` (git archive refuses a missing pathspec)."""
    with snapshot.Trees(repo) as trees:
        return [p for p in paths if trees.oid(revision, p) is not None]


def make(repo: str | os.PathLike[str], revision: str, config: Config, pipeline: Pipeline) -> bytes:
    """The whole build context as tar bytes: exactly the paths the content key covers."""
    settings = config.settings
    covered = [path for path, _role in keys.source_paths(config, pipeline)]
    paths = existing_paths(repo, revision, covered)
    if not paths:
        raise ConfigError(f"{pipeline.name}: none of its paths exist at {revision[:12]}")
    archive = git.run(repo, "archive", "--format=tar", revision, "--", *paths,
                      timeout=300).stdout
    mtime = git.commit_time(repo, revision)
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as source, \
            tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as target:
        names = set()
        for member in source:
            names.add(member.name)
            handle = source.extractfile(member) if member.isfile() else None
            target.addfile(member, handle)
        if pipeline.dockerfile not in names:
            raise ConfigError(f"{pipeline.file}: image.dockerfile {pipeline.dockerfile} is "
                                f"not part of the service's paths at {revision[:12]}")
        _add(target, CA_BUNDLE_PATH, ca_bundle(settings), mtime)
        for spec in pipeline.npm_inputs:
            for name, data in npm_inputs.members(spec):
                _add(target, name, data, mtime)
    return out.getvalue()


def _add(target: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    target.addfile(info, io.BytesIO(data))
