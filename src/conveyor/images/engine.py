"""The Docker engine: one client, talked to through the SDK (no CLI, no BuildKit)."""

from __future__ import annotations

import functools

import docker
import docker.errors
import requests

from conveyor.errors import ConveyorError

API_TIMEOUT = 600


@functools.lru_cache(maxsize=1)
def client() -> docker.DockerClient:
    """A client for the local daemon; a clear error when none answers."""
    try:
        engine = docker.from_env(timeout=API_TIMEOUT)
        engine.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise ConveyorError(
            f"no Docker engine answers ({exc.__class__.__name__}); start one with "
            "scripts/dockerd.sh"
        ) from None
    return engine


def image_exists(name: str) -> bool:
    try:
        client().images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False
