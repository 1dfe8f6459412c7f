"""Build the gateway image from the local base, run it on the host network against an
in-process fake password-strength, and check what ships: user, health, scoring, no CA bundle."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway_support import sync_backend

pytestmark = [pytest.mark.slow, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[3]
CONTEXT_PATHS = ("services/gateway", "protos", "build", "Jenkinsfile")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CA_IN_CONTEXT = ".conveyor/ca-bundle.pem"
TAG = "conveyor/gateway:image-test"


def build_context(ca_bundle: bytes) -> io.BytesIO:
    """The git-tracked files of the context paths (as in the working tree) plus the CA bundle."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--", *CONTEXT_PATHS],
                            check=True, capture_output=True, timeout=30).stdout
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in sorted(filter(None, listed.decode().split("\0"))):
            if (REPO / name).is_file():  # tracked but deleted in the working tree: skip
                tar.add(REPO / name, arcname=name, recursive=False, filter=_normalised)
        info = tarfile.TarInfo(CA_IN_CONTEXT)
        info.size = len(ca_bundle)
        tar.addfile(info, io.BytesIO(ca_bundle))
    buffer.seek(0)
    return buffer


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0  # the builder's cache keys on content; fixed times keep layers reusable
    return info


@pytest.fixture
def fake_backend() -> Iterator[str]:
    with sync_backend() as address:
        yield address


@pytest.fixture(scope="module")
def docker_client() -> Any:
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=900)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no engine"
        pytest.skip(f"no Docker engine answers: {exc}")
    return client


def build_image(client: Any, ca_bundle: bytes) -> tuple[Any, float]:
    from conveyor.images import base as base_image

    base = base_image.ensure(REPO / "build" / "base")
    started = time.monotonic()
    image, _logs = client.images.build(
        fileobj=build_context(ca_bundle), custom_context=True,
        dockerfile="services/gateway/Dockerfile", buildargs={"BASE_IMAGE": base},
        network_mode="host", tag=TAG, rm=True, forcerm=True, timeout=900)
    return image, time.monotonic() - started


def http(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until_ready(url: str, container: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http(f"{url}/readyz")[0] == 200:
                return
        except OSError:
            pass
        container.reload()
        assert container.status == "running", container.logs().decode(errors="replace")
        time.sleep(0.2)
    pytest.fail(f"gateway never became ready:\n{container.logs().decode(errors='replace')}")


def files_matching(container: Any, wanted: bytes) -> list[str]:
    """Names of the files in the container's file system whose bytes are exactly `wanted`."""
    digest = hashlib.sha256(wanted).hexdigest()
    stream = io.BufferedReader(_ChunkReader(container.export()), buffer_size=1 << 20)
    found = []
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if member.isfile() and member.size == len(wanted):
                handle = tar.extractfile(member)
                assert handle is not None
                if hashlib.sha256(handle.read()).hexdigest() == digest:
                    found.append(member.name)
    return found


class _ChunkReader(io.RawIOBase):
    """A file object over the docker SDK's chunk generator, for streaming tar reads."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def test_image_serves_as_uid_10001_without_the_ca_bundle(docker_client: Any,
                                                          fake_backend: str) -> None:
    from conveyor.images.containers import free_port

    ca_bundle = HOST_CA.read_bytes() if HOST_CA.is_file() else b""
    image, seconds = build_image(docker_client, ca_bundle)
    print(f"gateway image built in {seconds:.1f}s, {image.attrs['Size'] / 1e6:.0f} MB")
    assert image.attrs["Config"]["User"] == "10001"
    assert not any("PIP_CERT" in item for item in image.attrs["Config"]["Env"] or [])

    port = free_port()
    container = docker_client.containers.run(
        image.id, detach=True, network_mode="host",
        name=f"gateway-image-test-{uuid.uuid4().hex[:8]}",
        environment={"HOST": "127.0.0.1", "PORT": str(port),
                     "PASSWORD_STRENGTH_ADDR": fake_backend},
        labels={"conveyor.test": "gateway-image"})
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, container)
        assert http(f"{url}/healthz") == (200, {"status": "ok"})
        status, body = http(f"{url}/v1/password-strength",
                            {"password": "correct horse battery staple"})
        assert status == 200 and body["score"] == 4
        status, body = http(f"{url}/v1/password-strength", {"password": 1})
        assert status == 400 and body["error"]["code"] == "invalid_request"
        status, body = http(f"{url}/v1/password-strength", {"password": ""})
        assert status == 400 and body["error"]["code"] == "invalid_argument"

        exit_code, output = container.exec_run(["id", "-u"])
        assert (exit_code, output.strip()) == (0, b"10001")
        if ca_bundle:  # an empty bundle matches every empty file: nothing to look for
            assert files_matching(container, ca_bundle) == []

        container.stop(timeout=10)  # SIGTERM: a graceful exit is status 0
        assert container.wait(timeout=15)["StatusCode"] == 0
        assert "correct horse" not in container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
