"""PASSWORD_STRENGTH_TLS_CA: the channel verifies the backend against the given roots."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway_support import FakeBackend, FakeStrength, settings_for

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return key, cert


async def score_over_tls(ca: Path, key: Path, cert: Path) -> int:
    tls = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    backend = FakeBackend(FakeStrength(), tls=tls)
    await backend.start()
    try:
        app = create_app(settings_for(backend.address, backend_tls_ca=ca))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            response = await client.post("/v1/password-strength", json={"password": "hunter22"})
            return response.status
    finally:
        await backend.stop()


def test_scores_over_tls_with_the_right_roots(tmp_path: Path) -> None:
    key, cert = self_signed(tmp_path, "backend")
    assert asyncio.run(score_over_tls(cert, key, cert)) == 200


def test_refuses_a_backend_it_cannot_verify(tmp_path: Path) -> None:
    key, cert = self_signed(tmp_path, "backend")
    _, stranger = self_signed(tmp_path, "stranger")
    assert asyncio.run(score_over_tls(stranger, key, cert)) == 503
