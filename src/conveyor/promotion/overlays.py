"""The kustomize overlays: where a promoted digest is pinned, rendered and validated.

`k8s/overlays/<env>/kustomization.yaml` carries `images: [{name, newName, digest}]`;
`name` is the repository the base manifests use (e.g. conveyor/gateway), `newName` the
registry address plus that repository. Every write is atomic (temp + fsync + replace).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml

from conveyor.config.model import Pipeline, Settings

# reading the pins lives below the pipeline (its performance stage reads them); one definition
from conveyor.config.pins import OVERLAYS as OVERLAYS
from conveyor.config.pins import parse as parse
from conveyor.config.pins import pins as pins
from conveyor.config.pins import relative_path as relative_path
from conveyor.errors import ConfigError, Refusal
from conveyor.records.evidence import check_digest
from conveyor.util import atomic, proc

KUSTOMIZE_TIMEOUT = 60.0


def kustomization_path(root: str | os.PathLike[str], environment: str) -> Path:
    return Path(root) / OVERLAYS / environment / "kustomization.yaml"


def new_name(settings: Settings, pipeline: Pipeline) -> str:
    return f"{settings.registry.address}/{pipeline.image}"


def dump(data: dict[str, Any]) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).encode()


def read(root: str | os.PathLike[str], environment: str) -> dict[str, Any]:
    path = kustomization_path(root, environment)
    if not path.is_file():
        raise ConfigError(f"{relative_path(environment)}: no overlay for {environment}")
    return parse(path.read_bytes(), relative_path(environment))


def pinned(root: str | os.PathLike[str], environment: str, pipeline: Pipeline) -> str | None:
    return pins(read(root, environment)).get(pipeline.image)


def with_pin(data: dict[str, Any], name: str, new: str, digest: str | None) -> dict[str, Any]:
    """The kustomization with `name` pinned to `digest` (None: unpinned), entries sorted."""
    images = [dict(e) for e in data.get("images") or [] if isinstance(e, dict)
              and e.get("name") != name]
    if digest is not None:
        images.append({"name": name, "newName": new, "digest": check_digest(digest)})
    images.sort(key=lambda e: str(e.get("name")))
    return {**data, "images": images}


def set_pin(root: str | os.PathLike[str], environment: str, settings: Settings,
            pipeline: Pipeline, digest: str | None) -> bool:
    """Pin `digest` for `pipeline` in the overlay (None removes the pin); False if unchanged."""
    data = read(root, environment)
    if pins(data).get(pipeline.image) == digest:
        return False
    updated = with_pin(data, pipeline.image, new_name(settings, pipeline), digest)
    atomic.write_bytes(kustomization_path(root, environment), dump(updated))
    return True


def render(root: str | os.PathLike[str], environment: str) -> list[dict[str, Any]]:
    """`kubectl kustomize` of the overlay, offline: the documents it renders."""
    folder = Path(root) / OVERLAYS / environment
    result = proc.run(["kubectl", "kustomize", os.fspath(folder)], timeout=KUSTOMIZE_TIMEOUT,
                      check=False)
    if not result.ok:
        raise Refusal(f"{OVERLAYS}/{environment} does not render: "
                      f"{result.stderr.decode('utf-8', 'replace').strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import kubernetes_validate.utils as kv  # heavy import, only when validating

    return kv


def validate(documents: list[dict[str, Any]], environment: str) -> None:
    """Strict offline schema validation (unknown fields are errors)."""
    kv = _validator()
    version = kv.latest_version()
    for document in documents:
        try:
            kv.validate(document, version, strict=True)
        except Exception as exc:  # the library raises several unrelated kinds
            kind = document.get("kind", "?")
            name = (document.get("metadata") or {}).get("name", "?")
            message = getattr(exc, "message", str(exc))
            raise Refusal(f"{OVERLAYS}/{environment}: {kind}/{name} is invalid: {message}") \
                from None


def render_and_validate(root: str | os.PathLike[str], environment: str) -> list[dict[str, Any]]:
    documents = render(root, environment)
    validate(documents, environment)
    return documents


def find(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    for document in documents:
        if document.get("kind") == kind and (document.get("metadata") or {}).get("name") == name:
            return document
    return None
