"""Bounded load against a service on 127.0.0.1: HTTP (aiohttp) or gRPC (a generic unary call).

Bounded by a duration and a request count, whichever comes first. Latencies go into an
HdrHistogram (microseconds, 3 significant digits). For gRPC the JSON payload is encoded
by `grpc_payload` (server reflection, else the workspace's .proto files).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from hdrh.histogram import HdrHistogram

from conveyor.errors import ConveyorError, Refusal
from conveyor.pipeline import grpc_payload
from conveyor.util import net

REQUEST_TIMEOUT = 5.0
PERCENTILES = (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0)


@dataclass(frozen=True)
class Load:
    kind: str  # http | grpc
    address: str  # 127.0.0.1:port
    target: str  # HTTP path or /package.Service/Method
    payload: str  # JSON body; empty: GET (HTTP) or an empty message (gRPC)
    duration_s: float
    max_requests: int
    concurrency: int
    proto_roots: tuple[Path, ...] = ()  # where .proto files describe a gRPC method


@dataclass(frozen=True)
class Outcome:
    histogram: HdrHistogram
    requests: int
    errors: int
    seconds: float
    first_error: str | None

    def ms(self, percentile: float) -> float:
        return round(self.histogram.get_value_at_percentile(percentile) / 1000.0, 3)

    def figures(self) -> dict[str, Any]:
        done = self.requests - self.errors
        return {
            "requests": self.requests, "errors": self.errors,
            "error_rate": round(self.errors / self.requests, 4) if self.requests else 1.0,
            "seconds": round(self.seconds, 3),
            "rps": round(done / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": self.ms(50), "p95_ms": self.ms(95), "p99_ms": self.ms(99),
            "max_ms": round(self.histogram.get_max_value() / 1000.0, 3),
            "mean_ms": round(self.histogram.get_mean_value() / 1000.0, 3),
            "distribution_ms": {f"{p:g}": self.ms(p) for p in PERCENTILES},
        }


def run(load: Load) -> Outcome:
    if not net.is_loopback(net.split_host(load.address)):
        raise Refusal(f"load is only ever sent to a loopback address, not {load.address}")
    return asyncio.run(_run(load))


async def _run(load: Load) -> Outcome:
    if load.kind == "http":
        connector = aiohttp.TCPConnector(limit=load.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            return await _drive(_http_sender(session, load), load)
    request = grpc_payload.request_bytes(load.address, load.target, load.payload,
                                         load.proto_roots)
    async with grpc.aio.insecure_channel(load.address) as channel:
        call = channel.unary_unary(load.target)  # bytes in, bytes out

        async def send() -> None:
            await call(request, timeout=REQUEST_TIMEOUT)
        return await _drive(send, load)


def _http_sender(session: aiohttp.ClientSession, load: Load) -> Callable[[], Awaitable[None]]:
    url = f"http://{load.address}{load.target}"
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    body = load.payload.encode()

    async def send() -> None:
        if body:
            response = await session.post(url, data=body, timeout=timeout,
                                          headers={"Content-Type": "application/json"})
        else:
            response = await session.get(url, timeout=timeout)
        async with response:
            await response.read()
            if response.status >= 400:
                raise ConveyorError(f"HTTP {response.status}")
    return send


async def _drive(send: Callable[[], Awaitable[None]], load: Load) -> Outcome:
    histogram = HdrHistogram(1, 60_000_000, 3)
    deadline = time.monotonic() + load.duration_s
    state = {"left": load.max_requests, "sent": 0, "errors": 0}
    first_error: list[str] = []

    async def worker() -> None:
        while state["left"] > 0 and time.monotonic() < deadline:
            state["left"] -= 1
            state["sent"] += 1
            started = time.perf_counter()
            try:
                await send()
            except Exception as exc:  # noqa: BLE001 - every failed request counts as an error
                state["errors"] += 1
                if not first_error:
                    first_error.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            histogram.record_value(max(1, int((time.perf_counter() - started) * 1e6)))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, load.concurrency))))
    return Outcome(histogram, state["sent"], state["errors"], time.perf_counter() - started,
                   first_error[0] if first_error else None)
