"""The real image, end to end: build it from the local base with the docker SDK (classic
builder, host network for pip), run the unit target, serve from the final image on a free
127.0.0.1 port (plaintext and TLS), run the integration tests against it, and prove the host
CA bundle given to the deps stage is nowhere in the shipped image.

Slow (a cold build downloads and trains: minutes). Run it alone:
    .venv/bin/pytest -m docker services/password-strength/tests/test_image.py
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[3]
SERVICE = "services/password-strength"
CONTEXT_PATHS = (SERVICE, "protos", "build", "Jenkinsfile")
NPM_INPUTS = ("fxa-common-password-list@0.0.4", "@zxcvbn-ts/language-common@4.1.3")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
LABEL = "conveyor.test.password-strength"

docker = pytest.importorskip("docker")


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    try:
        engine = docker.from_env(timeout=900)
        engine.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no Docker engine: {exc}")
    yield engine
    for container in engine.containers.list(all=True, filters={"label": LABEL}):
        container.remove(force=True)
    engine.close()


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Tracked files of the service's paths (as in the working tree), the CA bundle and the
    npm inputs, laid out as the builder lays them out."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        listed = subprocess.run(["git", "ls-files", "-z", "--", *CONTEXT_PATHS], cwd=REPO,
                                check=True, capture_output=True, timeout=60).stdout
        for name in filter(None, listed.decode().split("\0")):
            if (REPO / name).is_file():
                tar.add(REPO / name, arcname=name)
        _add(tar, ".conveyor/ca-bundle.pem", CA_BUNDLE.read_bytes())
        for name, data in npm_members(tmp_path_factory.mktemp("npm")):
            _add(tar, name, data)
    return out.getvalue()


def npm_members(scratch: Path) -> Iterator[tuple[str, bytes]]:
    subprocess.run(["npm", "pack", "--silent", *NPM_INPUTS], cwd=scratch, check=True,
                   capture_output=True, timeout=300)
    for spec, tarball in zip(NPM_INPUTS, sorted(scratch.glob("*.tgz"), key=_pack_order),
                             strict=True):
        name = spec.rsplit("@", 1)[0]
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive:
                file = archive.extractfile(member) if member.isfile() else None
                if file is not None:
                    inner = member.name.split("/", 1)[1]
                    yield f".conveyor/inputs/{name}/{inner}", file.read()


def _pack_order(tarball: Path) -> int:
    # npm names scoped tarballs "zxcvbn-ts-language-common-...": map back to NPM_INPUTS order.
    return 0 if tarball.name.startswith("fxa-") else 1


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))


def build(client: docker.DockerClient, context: bytes, target: str | None) -> str:
    from conveyor.images import base as base_image

    base = base_image.ensure(REPO / "build/base")
    tag = f"conveyor-test/password-strength:{target or 'final'}-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    try:
        client.images.build(fileobj=io.BytesIO(context), custom_context=True, tag=tag,
                            dockerfile=f"{SERVICE}/Dockerfile", buildargs={"BASE_IMAGE": base},
                            target=target, network_mode="host", rm=True, forcerm=True)
    except docker.errors.BuildError as exc:
        log = "".join(str(chunk.get("stream", chunk)) for chunk in exc.build_log)
        pytest.fail(f"build of {target or 'final'} failed: {exc.msg}\n{log[-4000:]}")
    print(f"built {tag} in {time.monotonic() - started:.0f}s")
    return tag


@pytest.fixture(scope="module")
def image(client: docker.DockerClient, context: bytes) -> Iterator[str]:
    tag = build(client, context, None)
    yield tag
    client.images.remove(tag, noprune=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(client: docker.DockerClient, image: str, env: dict[str, str] | None = None,
          volumes: dict | None = None):  # noqa: ANN201 - a docker Container
    port = free_port()
    container = client.containers.run(
        image, detach=True, network_mode="host", labels={LABEL: "1"}, volumes=volumes or {},
        environment={"HOST": "127.0.0.1", "PORT": str(port), **(env or {})})
    return container, f"127.0.0.1:{port}"


def integration_tests(address: str, extra_env: dict[str, str] | None = None) -> None:
    env = {**os.environ, "PASSWORD_STRENGTH_ADDR": address, **(extra_env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"{SERVICE}/tests/integration"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and "skipped" not in result.stdout


def test_unit_target_passes(client: docker.DockerClient, context: bytes) -> None:
    tag = build(client, context, "unit")
    try:
        output = client.containers.run(tag, network_mode="none", remove=True,
                                       environment={"JUNIT_XML": ""}, labels={LABEL: "1"})
        assert b" passed" in output
    finally:
        client.images.remove(tag)


def test_image_serves_the_integration_tests(client: docker.DockerClient, image: str) -> None:
    container, address = serve(client, image)
    try:
        integration_tests(address)
        container.stop(timeout=20)  # SIGTERM: drains and exits cleanly
        assert container.wait(timeout=30)["StatusCode"] == 0
        assert b"draining" in container.logs()
    finally:
        container.remove(force=True)


def test_image_serves_over_tls(client: docker.DockerClient, image: str, tmp_path: Path,
                               make_certificate) -> None:  # noqa: ANN001
    cert, key = make_certificate(tmp_path, "localhost")
    tmp_path.chmod(0o755)
    key.chmod(0o644)  # the service runs as uid 10001
    container, address = serve(
        client, image, env={"TLS_CERT_FILE": "/tls/localhost.crt",
                            "TLS_KEY_FILE": "/tls/localhost.key"},
        volumes={str(tmp_path): {"bind": "/tls", "mode": "ro"}})
    try:
        integration_tests(address, {"PASSWORD_STRENGTH_CA_FILE": str(cert)})
    finally:
        container.remove(force=True)


def test_final_image_has_no_ca_bundle_and_runs_as_app(client: docker.DockerClient,
                                                       image: str) -> None:
    bundle = CA_BUNDLE.read_bytes()
    assert bundle, "the host has no CA bundle to look for"
    attrs = client.images.get(image).attrs
    assert attrs["Config"]["User"] == "10001"
    assert not any("PIP_CERT" in e or "ca-bundle" in e for e in attrs["Config"]["Env"] or [])
    found, files = [], {}
    for layer_name, member, data in image_files(client, image):
        if "ca-bundle" in member.name or (member.size == len(bundle) and data == bundle):
            found.append(f"{layer_name}:{member.name}")
        if member.name in ("opt/model/model.bin", "opt/model/model.sha256"):
            files[member.name] = data
    assert found == []
    assert hashlib.sha256(files["opt/model/model.bin"]).hexdigest() == \
        files["opt/model/model.sha256"].decode()


def image_files(client: docker.DockerClient, image: str) -> Iterator[tuple[str, tarfile.TarInfo,
                                                                            bytes]]:
    """Every regular file of every layer of the saved image (bundle-sized ones with data)."""
    saved = tempfile.TemporaryFile()
    for chunk in client.images.get(image).save(named=False):
        saved.write(chunk)
    saved.seek(0)
    with saved, tarfile.open(fileobj=saved) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer_name in manifest[0]["Layers"]:
            blob = outer.extractfile(layer_name)
            assert blob is not None
            with tarfile.open(fileobj=io.BytesIO(blob.read())) as layer:
                for member in layer:
                    if member.isfile():
                        handle = layer.extractfile(member)
                        yield layer_name, member, handle.read() if handle else b""
