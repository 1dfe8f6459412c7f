"""Bounded load against a service on 127.0.0.1: HTTP (aiohttp) or gRPC (a generic unary call).

Bounded by a duration and a request count, whichever comes first. Latencies go into an
HdrHistogram (microseconds, 3 significant digits). For gRPC the JSON payload is encoded
by `grpc_payload` (server reflection, else the workspace's .proto files), and the callers
share several connections, so a service with one process per core on its port gets all of
them busy. A call the service sheds (gRPC RESOURCE_EXHAUSTED, HTTP 503: it protects itself
by refusing at once) is counted apart from errors, and reported as the shed rate.
"""

from __future__ import annotations

import asyncio
import itertools
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
GRPC_CONNECTIONS = 4  # at most; each its own TCP connection (a local subchannel pool)
PERCENTILES = (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0)


class Shed(Exception):
    """The service refused the call at once to protect itself (not an error of the call)."""


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
    shed: int = 0  # refused at once by the service's load shedding

    def ms(self, percentile: float) -> float:
        return round(self.histogram.get_value_at_percentile(percentile) / 1000.0, 3)

    def figures(self) -> dict[str, Any]:
        done = self.requests - self.errors - self.shed
        return {
            "requests": self.requests, "errors": self.errors, "shed": self.shed,
            "error_rate": round(self.errors / self.requests, 4) if self.requests else 1.0,
            "shed_rate": round(self.shed / self.requests, 4) if self.requests else 0.0,
            "seconds": round(self.seconds, 3),
            "rps": round(done / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": self.ms(50), "p95_ms": self.ms(95), "p99_ms": self.ms(99),
            "max_ms": round(self.histogram.get_max_value() / 1000.0, 3),
            "mean_ms": round(self.histogram.get_mean_value() / 1000.0, 3),
            "distribution_ms": {f"{p:g}": self.ms(p) for p in PERCENTILES},
        }


def merge(a: Outcome, b: Outcome) -> Outcome:
    """Two parts of one measurement as one (histograms added, counts and time summed)."""
    histogram = HdrHistogram(1, 60_000_000, 3)
    histogram.add(a.histogram)
    histogram.add(b.histogram)
    return Outcome(histogram, a.requests + b.requests, a.errors + b.errors,
                   a.seconds + b.seconds, a.first_error or b.first_error, a.shed + b.shed)


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
    channels = [grpc.aio.insecure_channel(load.address,
                                          options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(max(1, min(load.concurrency, GRPC_CONNECTIONS)))]
    calls = [channel.unary_unary(load.target) for channel in channels]  # bytes in, bytes out
    turn = itertools.count()

    async def send() -> None:
        try:
            await calls[next(turn) % len(calls)](request, timeout=REQUEST_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise Shed(exc.details() or "RESOURCE_EXHAUSTED") from None
            raise
    try:
        return await _drive(send, load)
    finally:
        for channel in channels:
            await channel.close()


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
            if response.status == 503:
                raise Shed(f"HTTP 503 (Retry-After {response.headers.get('Retry-After', '-')})")
            if response.status >= 400:
                raise ConveyorError(f"HTTP {response.status}")
    return send


async def _drive(send: Callable[[], Awaitable[None]], load: Load) -> Outcome:
    histogram = HdrHistogram(1, 60_000_000, 3)
    deadline = time.monotonic() + load.duration_s
    state = {"left": load.max_requests, "sent": 0, "errors": 0, "shed": 0}
    first_error: list[str] = []

    async def worker() -> None:
        while state["left"] > 0 and time.monotonic() < deadline:
            state["left"] -= 1
            state["sent"] += 1
            started = time.perf_counter()
            try:
                await send()
            except Shed:
                state["shed"] += 1
                continue
            except Exception as exc:  # noqa: BLE001 - every failed request counts as an error
                state["errors"] += 1
                if not first_error:
                    first_error.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            histogram.record_value(max(1, int((time.perf_counter() - started) * 1e6)))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, load.concurrency))))
    return Outcome(histogram, state["sent"], state["errors"], time.perf_counter() - started,
                   first_error[0] if first_error else None, state["shed"])
