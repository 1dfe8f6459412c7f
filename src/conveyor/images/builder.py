"""One image per content: built with the Docker SDK (classic builder), tagged with the content
key, pushed, and identified from then on by the registry's manifest digest.

When the registry already has the content key's tag nothing is built. Public entry points:
`build` (the build stage), `build_target` (a local-only stage such as `unit`), `find` (the
digest of a service's content key), `ensure_local` (pull by digest when missing).
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker.errors
import requests

from conveyor import state
from conveyor.config import keys
from conveyor.config.model import Config, Pipeline, Settings
from conveyor.errors import ConfigError, ConveyorError, Retryable
from conveyor.git import plumbing as git
from conveyor.images import base as base_image
from conveyor.images import context as build_context
from conveyor.images import engine, instance, registry_server
from conveyor.images.registry import Client
from conveyor.records import builds
from conveyor.util import locks
from conveyor.util.progress import Progress

LOCAL_STAGE_REPOSITORY = "conveyor-stage"


@dataclass(frozen=True)
class Image:
    service: str
    content_key: str
    digest: str  # sha256:... of the registry manifest
    repository: str  # registry address/repository
    revision: str

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class Built:
    image: Image
    reused: bool
    seconds: float


def registry_client(settings: Settings) -> Client:
    """A client for the configured registry. The embedded one must already run: restarting
    a registry the operator stopped would hide that it is down."""
    if settings.registry.embedded:
        registry_server.ensure_running(settings.registry.address)
    return Client.from_settings(settings.registry)


def content_key(repo: str | os.PathLike[str], revision: str, config: Config, service: str) -> str:
    return keys.service_key(repo, revision, config, service)


def repository_of(settings: Settings, pipeline: Pipeline) -> str:
    """registry address/repository: where the configured registry keeps the service's images."""
    return f"{settings.registry.address}/{pipeline.image}"


def recorded(service: str, key: str, repository: str) -> Image | None:
    """The build record of a content key *in this registry*. A record made against another
    registry names a digest this one may not have, so it does not count here."""
    row = builds.recorded(service, key, repository)
    if row is None:
        return None
    return Image(service, key, row["digest"], row["repository"], row["revision"])


def revision_of(digest: str) -> str | None:
    """The commit an image was built from, as this machine's build records say."""
    return builds.revision_of(digest)


def find(config: Config, service: str, key: str) -> Image | None:
    """The image built for a service's content key in the configured registry: its build
    record first, then the registry itself (never a record of another registry)."""
    pipeline = config.pipeline(service)
    found = recorded(service, key, repository_of(config.settings, pipeline))
    if found:
        return found
    client = registry_client(config.settings)
    digest = client.manifest_digest(pipeline.image, key)
    if digest is None:
        return None
    return Image(service, key, digest, f"{client.address}/{pipeline.image}", "")


def labelled_revision(image: str) -> str | None:
    """The source revision an image's OCI label names (pulled by digest if needed); None
    when the image has no such label or cannot be had (the deploy then says why)."""
    try:
        ensure_image(image)
        labels = engine.client().images.get(image).labels or {}
    except (ConveyorError, docker.errors.DockerException, requests.RequestException):
        return None
    revision = labels.get("org.opencontainers.image.revision")
    return str(revision) if revision else None


def ensure_image(image: str) -> None:
    client = engine.client()
    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    try:
        client.images.pull(image)
    except (docker.errors.APIError, requests.RequestException) as exc:
        raise Retryable(f"cannot pull {image} from the registry: {exc}") from None


def build(config: Config, repo: str | os.PathLike[str], revision: str, service: str,
          progress: Progress = print, source: str | None = None, no_cache: bool = False) -> Built:
    """Build, push and record the image of `service` at `revision`, unless its key exists.

    `no_cache` builds every layer afresh (a cold build, for benchmarks).
    """
    started = time.monotonic()
    pipeline = config.pipeline(service)
    key = content_key(repo, revision, config, service)
    client = registry_client(config.settings)
    repository = f"{client.address}/{pipeline.image}"
    with locks.hold(state.subdir("locks") / f"build-{service}-{key}.lock",
                    on_wait=lambda: progress(f"waiting for another build of {service} {key}")):
        digest = client.manifest_digest(pipeline.image, key)
        if digest is not None:
            progress(f"{service}: content key {key} is already in the registry as {digest}: "
                     "nothing to build, reusing it")
            # the commit it was built from: this machine's record, else the image's own label
            known = recorded(service, key, repository)
            built_from = (known.revision if known and known.revision else None) or \
                labelled_revision(f"{repository}@{digest}") or revision
            image = Image(service, key, digest, repository, built_from)
            _record(image)
            return Built(image, True, time.monotonic() - started)
        context = build_context.make(repo, revision, config, pipeline)
        base = _base_image(repo, revision, config.settings, progress)
        labels = {**pipeline.labels,
                  **_computed_labels(pipeline, context, base, key, progress, no_cache),
                  **provenance(repo, revision, service, key, source)}
        tag = f"{repository}:{key}"
        # after computed labels, the earlier stages' layers are fresh: reuse them
        _build(context, pipeline, base, tag, None, labels, progress,
               no_cache and not pipeline.computed_labels)
        digest = _push(client, repository, key, progress)
        image = Image(service, key, digest, repository, revision)
        _record(image)
    progress(f"{service}: pushed {image.reference}")
    return Built(image, False, time.monotonic() - started)


def build_target(config: Config, repo: str | os.PathLike[str], revision: str, service: str,
                 target: str, progress: Progress = print) -> str:
    """Build a local-only stage of the service's Dockerfile (never pushed); its tag."""
    pipeline = config.pipeline(service)
    key = content_key(repo, revision, config, service)
    context = build_context.make(repo, revision, config, pipeline)
    base = _base_image(repo, revision, config.settings, progress)
    tag = f"{LOCAL_STAGE_REPOSITORY}/{service}-{target}:{key}"
    _build(context, pipeline, base, tag, target, {}, progress)
    return tag


def ensure_local(image: Image, settings: Settings, progress: Progress = print) -> str:
    """The image's `repo@digest` reference, pulled first if this engine does not have it."""
    if engine.image_exists(image.reference):
        return image.reference
    progress(f"pulling {image.reference}")
    client = registry_client(settings)
    try:
        engine.client().api.pull(image.repository, tag=image.digest,
                                 auth_config=client.auth_config())
    except docker.errors.APIError as exc:
        raise Retryable(f"cannot pull {image.reference}: {exc.explanation}") from None
    return image.reference


def provenance(repo: str | os.PathLike[str], revision: str, service: str, key: str,
               source: str | None) -> dict[str, str]:
    """OCI labels that do not vary run to run: `created` is the commit time."""
    created = datetime.fromtimestamp(git.commit_time(repo, revision), UTC)
    return {
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.source": source or os.fspath(Path(repo).resolve()),
        "org.opencontainers.image.created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conveyor.service": service,
        "conveyor.content-key": key,
    }


def _base_image(repo: str | os.PathLike[str], revision: str, settings: Settings,
                progress: Progress) -> str:
    """The base image of the revision's recipe (made once per recipe hash; retried if busy)."""
    recipe = git.show_file(repo, revision, f"{settings.base_recipe.rstrip('/')}/recipe.toml")
    if recipe is None:
        raise ConfigError(f"{settings.base_recipe}/recipe.toml is missing at {revision[:12]}")
    with tempfile.TemporaryDirectory(prefix="conveyor-recipe-") as folder:
        (Path(folder) / "recipe.toml").write_bytes(recipe)
        for attempt in range(3):
            try:
                return base_image.ensure(Path(folder), progress)
            except ConveyorError:
                if attempt == 2:
                    raise
                progress("base image not ready (being made elsewhere?): retrying in 20s")
                time.sleep(20)
    raise AssertionError("unreachable")


def _build(context: bytes, pipeline: Pipeline, base: str, tag: str, target: str | None,
           labels: Mapping[str, str], progress: Progress, no_cache: bool = False) -> None:
    progress(f"building {tag}" + (f" (target {target})" if target else ""))
    try:
        events = engine.client().api.build(
            fileobj=io.BytesIO(context), custom_context=True, dockerfile=pipeline.dockerfile,
            tag=tag, target=target, buildargs={"BASE_IMAGE": base}, labels=dict(labels),
            network_mode="host", decode=True, rm=True, forcerm=True, pull=False,
            nocache=no_cache,
        )
        _follow(events, progress, f"build of {tag}")
    except docker.errors.APIError as exc:
        raise ConveyorError(f"build of {tag} refused: {exc.explanation}") from None
    except requests.RequestException as exc:
        raise Retryable(f"build of {tag}: {type(exc).__name__}") from None


def _push(client: Client, repository: str, key: str, progress: Progress) -> str:
    """Push the tag; an error inside the stream fails it. The registry's digest is returned."""
    progress(f"pushing {repository}:{key}")
    try:
        events = engine.client().api.push(repository, tag=key, stream=True, decode=True,
                                          auth_config=client.auth_config())
        aux = _follow(events, progress, f"push of {repository}:{key}")
    except docker.errors.APIError as exc:
        raise ConveyorError(f"push of {repository}:{key} refused: {exc.explanation}") from None
    except requests.RequestException as exc:
        raise Retryable(f"push of {repository}:{key}: {type(exc).__name__}") from None
    name = repository.split("/", 1)[1]
    digest = client.manifest_digest(name, key)
    if digest is None or digest != aux.get("Digest", digest):
        raise ConveyorError(f"push of {repository}:{key}: the registry reports {digest}, "
                            f"the engine pushed {aux.get('Digest')}")
    return digest


def _follow(events: Iterable[dict[str, Any]], progress: Progress, what: str) -> dict[str, Any]:
    """Stream a build or push: progress lines out, in-band errors raised, `aux` returned."""
    aux: dict[str, Any] = {}
    for event in events:
        if "errorDetail" in event or "error" in event:
            detail = event.get("errorDetail") or {}
            raise ConveyorError(f"{what} failed: {detail.get('message') or event.get('error')}")
        if "stream" in event:
            text = str(event["stream"]).rstrip()
            if text:
                progress(text)
        elif "status" in event and "progressDetail" not in event:
            progress(" ".join(str(event[k]) for k in ("id", "status") if event.get(k)))
        if isinstance(event.get("aux"), dict):
            aux.update(event["aux"])
    return aux


def _computed_labels(pipeline: Pipeline, context: bytes, base: str, key: str,
                     progress: Progress, no_cache: bool) -> dict[str, str]:
    """Labels whose values are files of an earlier build target (e.g. a model's hash)."""
    values: dict[str, str] = {}
    for label, spec in pipeline.computed_labels.items():
        target, _, path = spec.partition(":")
        tag = f"{LOCAL_STAGE_REPOSITORY}/{pipeline.name}-{target}:{key}"
        _build(context, pipeline, base, tag, target, {}, progress, no_cache)
        no_cache = False
        values[label] = _read_file(tag, path).decode("utf-8", "replace").strip()
        progress(f"label {label}={values[label]}")
    return values


def _read_file(image: str, path: str) -> bytes:
    container = engine.client().containers.create(image, command=["true"],
                                                  labels=instance.labels())
    try:
        chunks, _stat = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member else None
            if handle is None:
                raise ConveyorError(f"{image}: {path} is not a file")
            return handle.read()
    except docker.errors.NotFound:
        raise ConveyorError(f"{image} has no {path}") from None
    finally:
        container.remove(force=True)


def _record(image: Image) -> None:
    """The first build of a content key in a repository is the record; a rebuild never
    overwrites it."""
    builds.record(service=image.service, content_key=image.content_key, digest=image.digest,
                  repository=image.repository, revision=image.revision)
