"""Registry packages a build needs as data (`npm_inputs`), fetched once with `npm pack`.

Tarballs are cached under the state directory by spec; the build context gets their files
under `.conveyor/inputs/<package name>/` with the tarball's `package/` prefix stripped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

from conveyor import state
from conveyor.errors import ConfigError, ConveyorError, Refusal
from conveyor.util import locks, proc

NPM_TIMEOUT = 300.0


def package_name(spec: str) -> str:
    """`@scope/name@1.2.3` -> `@scope/name`; `name@1.2.3` -> `name`."""
    head, at, _version = spec[1:].partition("@")
    name = spec[0] + head if at else spec
    if not name or ".." in name.split("/") or name.count("/") > (1 if name[0] == "@" else 0):
        raise ConfigError(f"not an npm package spec: {spec!r}")
    return name


def fetch(spec: str) -> Path:
    """The package tarball for `spec`, from the cache or from `npm pack`."""
    folder = state.subdir("npm", hashlib.sha256(spec.encode()).hexdigest()[:24])
    with locks.hold(folder / ".lock"):
        tarballs = sorted(folder.glob("*.tgz"))
        if tarballs:
            return tarballs[0]
        if shutil.which("npm") is None:
            raise Refusal(f"npm is needed to fetch {spec} (apt-get install npm)")
        scratch = folder / "incoming"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("npm_config_")}
        proc.run(["npm", "pack", "--silent", spec, "--pack-destination", str(scratch)],
                 cwd=scratch, env=env, timeout=NPM_TIMEOUT)
        fetched = sorted(scratch.glob("*.tgz"))
        if len(fetched) != 1:
            raise ConveyorError(f"npm pack {spec} produced {len(fetched)} tarballs")
        target = folder / fetched[0].name
        os.replace(fetched[0], target)
        shutil.rmtree(scratch, ignore_errors=True)
        return target


def members(spec: str) -> Iterator[tuple[str, bytes]]:
    """(path under `.conveyor/inputs/<name>/`, content) for every regular file of the package."""
    prefix = f".conveyor/inputs/{package_name(spec)}/"
    with tarfile.open(fetch(spec), "r:gz") as archive:
        for member in archive:
            if not member.isfile():
                continue
            parts = member.name.split("/")
            relative = "/".join(parts[1:]) if parts[0] == "package" else member.name
            if not relative or relative.startswith("/") or ".." in relative.split("/"):
                continue
            handle = archive.extractfile(member)
            if handle is not None:
                yield prefix + relative, handle.read()
