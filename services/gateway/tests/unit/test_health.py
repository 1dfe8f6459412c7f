"""Liveness is the process; readiness follows the backend's grpc.health.v1 status."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestClient
from grpc_health.v1 import health_pb2

from gateway_support import FakeBackend, FakeStrength, gateway_with_fake


async def readiness(client: TestClient) -> int:
    return (await client.get("/readyz")).status


async def wait_for(client: TestClient, status: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while await readiness(client) != status:
        assert time.monotonic() < deadline, f"/readyz never answered {status}"
        await asyncio.sleep(0.1)


def test_readiness_flips_with_the_backend() -> None:
    async def main() -> None:
        async with gateway_with_fake() as (client, backend):
            assert await readiness(client) == 200
            await backend.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
            response = await client.get("/readyz")
            assert response.status == 503
            assert (await response.json())["error"]["code"] == "not_ready"
            await backend.health.set("", health_pb2.HealthCheckResponse.SERVING)
            assert await readiness(client) == 200
            await backend.stop()
            assert await readiness(client) == 503
            assert (await client.get("/healthz")).status == 200  # alive though not ready
            # Back on the same port: the one channel reconnects by itself.
            revived = FakeBackend(FakeStrength(), port=backend.port)
            await revived.start()
            try:
                await wait_for(client, 200)
            finally:
                await revived.stop()
    asyncio.run(main())


def test_readiness_needs_serving_not_just_an_answer() -> None:
    async def main() -> None:
        async with gateway_with_fake() as (client, backend):
            await backend.health.set("", health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
            assert await readiness(client) == 503
    asyncio.run(main())


def test_healthz_answers_without_the_backend() -> None:
    async def main() -> None:
        async with gateway_with_fake() as (client, backend):
            await backend.stop()
            response = await client.get("/healthz")
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
    asyncio.run(main())
