"""The base image, made from a recipe with debootstrap and `docker import`: no registry pull.

The image is tagged by the recipe's hash and made only when that tag is missing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from conveyor.errors import ConfigError, ConveyorError, Refusal
from conveyor.images import engine
from conveyor.util import proc
from conveyor.util.progress import Progress

BASE_REPOSITORY = "conveyor/base"
DEBOOTSTRAP_TIMEOUT = 1200.0
APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))


@dataclass(frozen=True)
class Recipe:
    suite: str
    variant: str
    include: tuple[str, ...]
    mirror: str
    user: str
    uid: int
    digest: str  # sha256 of the recipe file

    @property
    def tag(self) -> str:
        return f"{BASE_REPOSITORY}:{self.digest[:16]}"


def load_recipe(recipe_dir: Path) -> Recipe:
    file = recipe_dir / "recipe.toml"
    try:
        raw = file.read_bytes()
        data = tomllib.loads(raw.decode())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConveyorError(f"{file}: cannot read the base image recipe: {exc}") from None
    try:
        return Recipe(
            suite=str(data["suite"]),
            variant=str(data.get("variant", "minbase")),
            include=tuple(str(p) for p in data.get("include", [])),
            mirror=str(data.get("mirror", "host")),
            user=str(data.get("user", "app")),
            uid=int(data.get("uid", 10001)),
            digest=hashlib.sha256(raw).hexdigest(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConveyorError(f"{file}: {exc}") from None


def host_mirror(suite: str) -> str:
    """The Debian mirror this machine's apt uses for `suite` (deb822 or one-line format)."""
    for sources in APT_SOURCES:
        if not sources.is_file():
            continue
        text = sources.read_text()
        for stanza in text.split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and suite in suites.group(1).split():
                return uris.group(1)
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] == suite:
                return parts[1]
    raise ConfigError(f"no apt source for {suite!r} on this machine; set mirror in the recipe")


def ensure(recipe_dir: Path, progress: Progress = print) -> str:
    """Return the base image tag, making the image first when the recipe's tag is missing."""
    recipe = load_recipe(recipe_dir)
    if engine.image_exists(recipe.tag):
        return recipe.tag
    if shutil.which("debootstrap") is None:
        raise Refusal("debootstrap is not installed (run scripts/install.sh)")
    mirror = host_mirror(recipe.suite) if recipe.mirror == "host" else recipe.mirror
    progress(f"making base image {recipe.tag} with debootstrap ({recipe.suite}, {mirror}); "
             "this takes about a minute, once")
    with tempfile.TemporaryDirectory(prefix="conveyor-base-") as workdir:
        rootfs = Path(workdir) / "rootfs"
        argv = ["debootstrap", f"--variant={recipe.variant}"]
        if recipe.include:
            argv.append("--include=" + ",".join(recipe.include))
        proc.run([*argv, recipe.suite, str(rootfs), mirror], timeout=DEBOOTSTRAP_TIMEOUT)
        _finish_rootfs(rootfs, recipe)
        _import(rootfs, recipe.tag)
    progress(f"base image {recipe.tag} ready")
    return recipe.tag


def _finish_rootfs(rootfs: Path, recipe: Recipe) -> None:
    """Add the service user and drop what only debootstrap needed (apt lists, caches, logs)."""
    proc.run(["chroot", str(rootfs), "useradd", "--uid", str(recipe.uid), "--user-group",
              "--home-dir", "/home/" + recipe.user, "--create-home", "--shell",
              "/usr/sbin/nologin", recipe.user], timeout=60)
    for leftover in ("var/lib/apt/lists", "var/cache/apt", "var/log", "tmp"):
        target = rootfs / leftover
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()


def _import(rootfs: Path, tag: str) -> None:
    """`tar | docker import` through the SDK: the root file system becomes one layer."""
    tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
                           stdout=subprocess.PIPE)
    assert tar.stdout
    try:
        repository, _, version = tag.partition(":")
        engine.client().api.import_image_from_stream(
            tar.stdout, repository=repository, tag=version,
            changes=["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "ENV LANG=C.UTF-8", 'CMD ["/usr/bin/python3"]'],
        )
    finally:
        tar.stdout.close()
        if tar.wait(timeout=120) != 0:
            raise ConveyorError("tar of the base root file system failed")
    if not engine.image_exists(tag):
        raise ConveyorError(f"docker import did not produce {tag}")


def default_recipe_dir(repo_root: Path) -> Path:
    return Path(os.fspath(repo_root)) / "build" / "base"
