"""The registry's HTTP API (distribution v2): the digest a tag or digest names, and checks.

Works against the embedded registry and any other one named in conveyor.toml. Credentials
come from the environment variables the settings name; they are registered with `redact`
and never logged nor put on a command line. Every call has a timeout; connection errors
and 5xx answers are `Retryable`.
"""

from __future__ import annotations

import os
from typing import Any

import requests

from conveyor.config.model import Registry
from conveyor.errors import ConveyorError, Refusal, Retryable
from conveyor.util import net
from conveyor.util.redact import register_secret

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TIMEOUT = 10.0


class Client:
    def __init__(self, address: str, username: str | None = None,
                 password: str | None = None) -> None:
        self.address = address
        self._auth = (username, password) if username and password else None
        # plain HTTP on loopback only: anywhere else the credentials would cross a network
        scheme = "http" if net.is_loopback(net.split_host(address)) else "https"
        self.base_url = f"{scheme}://{address}"

    @classmethod
    def from_settings(cls, registry: Registry) -> Client:
        username = os.environ.get(registry.username_env) if registry.username_env else None
        password = os.environ.get(registry.password_env) if registry.password_env else None
        if registry.password_env and not password:
            raise Refusal(f"the registry password variable {registry.password_env} is not set")
        register_secret(password, user=username)
        return cls(registry.address, username, password)

    def auth_config(self) -> dict[str, str] | None:
        """What the Docker engine needs to push (sent in a header, never in argv)."""
        if not self._auth:
            return None
        return {"username": self._auth[0] or "", "password": self._auth[1] or ""}

    def reference(self, repository: str, digest: str) -> str:
        return f"{self.address}/{repository}@{digest}"

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = requests.request(method, self.base_url + path, auth=self._auth,
                                        timeout=TIMEOUT, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Retryable(f"registry {self.address} unreachable ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise Retryable(f"registry {self.address}: HTTP {response.status_code} on {path}")
        if response.status_code in (401, 403):
            raise Refusal(f"registry {self.address} refused the credentials ({path})")
        return response

    def is_up(self) -> bool:
        try:
            return self._request("GET", "/v2/").status_code == 200
        except (Retryable, Refusal):
            return False

    def manifest_digest(self, repository: str, tag: str) -> str | None:
        """The manifest digest a tag points to, as the registry reports it; None if absent."""
        response = self._request("HEAD", f"/v2/{repository}/manifests/{tag}",
                                 headers={"Accept": f"{MANIFEST_V2}, {OCI_MANIFEST}"})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ConveyorError(f"registry: HTTP {response.status_code} for {repository}:{tag}")
        digest = response.headers.get("Docker-Content-Digest")
        if not digest:
            raise ConveyorError(f"registry gave no Docker-Content-Digest for {repository}:{tag}")
        return digest

    def has_digest(self, repository: str, digest: str) -> bool:
        return self.manifest_digest(repository, digest) == digest
