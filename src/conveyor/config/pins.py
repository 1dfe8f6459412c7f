"""The overlays' pins, read: `k8s/overlays/<env>/kustomization.yaml` names the digest each
environment runs (`images: [{name, newName, digest}]`).

Promotion writes the pins (promotion/overlays.py); the performance stage reads the last
environment's to find its regression baseline, so the reading lives down here.
"""

from __future__ import annotations

from typing import Any

import yaml

from conveyor.errors import ConfigError

OVERLAYS = "k8s/overlays"


def relative_path(environment: str) -> str:
    return f"{OVERLAYS}/{environment}/kustomization.yaml"


def parse(text: bytes | str, where: str) -> dict[str, Any]:
    """A kustomization as a mapping; ConfigError naming `where` when it is not one."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping")
    return data


def pins(data: dict[str, Any]) -> dict[str, str]:
    """Image name -> pinned digest, for entries that pin one."""
    result = {}
    for entry in data.get("images") or []:
        if isinstance(entry, dict) and entry.get("name") and entry.get("digest"):
            result[str(entry["name"])] = str(entry["digest"])
    return result
