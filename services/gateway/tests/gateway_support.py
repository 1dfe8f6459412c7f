"""Shared test support: a real in-process grpc.aio fake of password-strength, and a gateway
wired to it through aiohttp's test server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import grpc
from aiohttp.test_utils import TestClient, TestServer
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from gateway.app import create_app
from gateway.config import Settings
from gateway.stubs import pb2, pb2_grpc

MAX_PASSWORD = 256  # the real service's limit, mirrored so INVALID_ARGUMENT paths are real


def score_of(password: str) -> int:
    """A deterministic stand-in for zxcvbn: longer is stronger."""
    return min(4, len(password) // 5)


@dataclass
class FakeStrength(pb2_grpc.PasswordStrengthServicer):
    delay_s: float = 0.0
    fail_with: grpc.StatusCode | None = None
    peers: list[str] = field(default_factory=list)
    requests: list[object] = field(default_factory=list)

    async def Evaluate(self, request: pb2.EvaluateRequest,  # noqa: N802 - generated name
                       context: grpc.aio.ServicerContext) -> pb2.EvaluateResponse:
        await self._before(request, context)
        if not request.password or len(request.password) > MAX_PASSWORD:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"password must be 1..{MAX_PASSWORD} characters")
        return self._result(request.password, request.user_inputs)

    async def EvaluateBatch(self, request: pb2.EvaluateBatchRequest,  # noqa: N802
                            context: grpc.aio.ServicerContext) -> pb2.EvaluateBatchResponse:
        await self._before(request, context)
        for index, password in enumerate(request.passwords):
            if not password or len(password) > MAX_PASSWORD:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"passwords[{index}] must be 1..{MAX_PASSWORD} characters")
        return pb2.EvaluateBatchResponse(
            results=[self._result(p, request.user_inputs) for p in request.passwords])

    async def _before(self, request: object, context: grpc.aio.ServicerContext) -> None:
        self.peers.append(context.peer())
        self.requests.append(request)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_with is not None:
            await context.abort(self.fail_with, "fake failure")

    @staticmethod
    def _result(password: str, user_inputs: object) -> pb2.EvaluateResponse:
        score = 0 if password in list(user_inputs) else score_of(password)  # type: ignore[call-overload]
        return pb2.EvaluateResponse(
            score=score, log10_guesses=float(score * 3), crack_time_display=f"{score} hours",
            crack_time_seconds=score * 3600.0,
            feedback=pb2.Feedback(warning="weak" if score < 3 else "",
                                  suggestions=["Add another word or two."] if score < 3 else []))


class FakeBackend:
    """A grpc.aio server on 127.0.0.1 with the health service; can stop and come back."""

    def __init__(self, servicer: FakeStrength, port: int = 0,
                 tls: grpc.ServerCredentials | None = None) -> None:
        self.servicer = servicer
        self.port = port
        self.tls = tls
        self.health = health.aio.HealthServicer()
        self._server: grpc.aio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        server = grpc.aio.server()
        pb2_grpc.add_PasswordStrengthServicer_to_server(self.servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        if self.tls is None:
            self.port = server.add_insecure_port(f"127.0.0.1:{self.port}")
        else:
            self.port = server.add_secure_port(f"127.0.0.1:{self.port}", self.tls)
        await server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=None)
            self._server = None


def settings_for(address: str, **overrides: Any) -> Settings:
    base = Settings(host="127.0.0.1", port=0, backend_addr=address, backend_tls_ca=None,
                    deadline_s=2.0, batch_deadline_s=5.0, readiness_deadline_s=0.5,
                    shutdown_timeout_s=1.0)
    return replace(base, **overrides)


@asynccontextmanager
async def gateway_with_fake(servicer: FakeStrength | None = None, **overrides: Any,
                            ) -> AsyncIterator[tuple[TestClient, FakeBackend]]:
    backend = FakeBackend(servicer or FakeStrength())
    await backend.start()
    try:
        app = create_app(settings_for(backend.address, **overrides))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield client, backend
    finally:
        await backend.stop()


class SyncFake(pb2_grpc.PasswordStrengthServicer):
    """The same behaviour behind a thread-pool server, for tests that block (processes,
    containers) and so cannot share an event loop with the fake."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    def Evaluate(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        time.sleep(self.delay_s)
        if not 0 < len(request.password) <= MAX_PASSWORD:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"password must be 1..{MAX_PASSWORD} characters")
        return FakeStrength._result(request.password, request.user_inputs)

    def EvaluateBatch(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        time.sleep(self.delay_s)
        for index, password in enumerate(request.passwords):
            if not 0 < len(password) <= MAX_PASSWORD:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"passwords[{index}] must be 1..{MAX_PASSWORD} characters")
        return pb2.EvaluateBatchResponse(
            results=[FakeStrength._result(p, request.user_inputs) for p in request.passwords])


@contextmanager
def sync_backend(servicer: SyncFake | None = None) -> Iterator[str]:
    """A SERVING fake on 127.0.0.1 in background threads; yields its host:port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb2_grpc.add_PasswordStrengthServicer_to_server(servicer or SyncFake(), server)
    checks = health.HealthServicer()
    checks.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)
