"""The password-strength client: a few grpc.aio channels for the life of the process.

A channel multiplexes every call over one HTTP/2 connection and reconnects by itself, so the
channels are opened once at startup and closed at shutdown, never per request. There are
several (PASSWORD_STRENGTH_CONNECTIONS, calls take turns) because password-strength runs one
server process per core on one port and the kernel spreads connections, not calls, over them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .config import Settings
from .errors import from_rpc_error
from .stubs import pb2, pb2_grpc

# Pings keep idle connections alive through NATs and notice a dead backend between calls.
_CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
    # Each channel its own connection: by default equal channels share one.
    ("grpc.use_local_subchannel_pool", 1),
]


class Backend:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._channels = [open_channel(settings) for _ in range(settings.connections)]
        self._stubs = itertools.cycle(
            [pb2_grpc.PasswordStrengthStub(channel) for channel in self._channels])
        self._health = health_pb2_grpc.HealthStub(self._channels[0])

    async def evaluate(self, password: str, user_inputs: Sequence[str]) -> pb2.EvaluateResponse:
        request = pb2.EvaluateRequest(password=password, user_inputs=list(user_inputs))
        try:
            return await next(self._stubs).Evaluate(request, timeout=self._settings.deadline_s)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None

    async def evaluate_batch(self, passwords: Sequence[str],
                             user_inputs: Sequence[str]) -> pb2.EvaluateBatchResponse:
        request = pb2.EvaluateBatchRequest(passwords=list(passwords),
                                           user_inputs=list(user_inputs))
        try:
            return await next(self._stubs).EvaluateBatch(
                request, timeout=self._settings.batch_deadline_s)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None

    async def is_serving(self) -> bool:
        """True when the backend's grpc.health.v1 check answers SERVING in time."""
        try:
            answer = await self._health.Check(health_pb2.HealthCheckRequest(service=""),
                                              timeout=self._settings.readiness_deadline_s)
        except grpc.aio.AioRpcError:
            return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close(grace=1.0)


def open_channel(settings: Settings) -> grpc.aio.Channel:
    if settings.backend_tls_ca is None:
        return grpc.aio.insecure_channel(settings.backend_addr, options=_CHANNEL_OPTIONS)
    roots = settings.backend_tls_ca.read_bytes()
    credentials = grpc.ssl_channel_credentials(root_certificates=roots)
    return grpc.aio.secure_channel(settings.backend_addr, credentials, options=_CHANNEL_OPTIONS)
