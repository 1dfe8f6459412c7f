"""A bounded load test of a running gateway on 127.0.0.1.

    python services/gateway/perf/load.py --url http://127.0.0.1:8080 --duration 8 \
        --requests 4000 --concurrency 8 [--p99-ms 100 --min-rps 50]

Stops at whichever comes first: the duration or the request count (both capped). Prints one
JSON summary; exits 1 when a given threshold is missed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import aiohttp

MAX_DURATION_S = 60.0
MAX_REQUESTS = 100_000
MAX_CONCURRENCY = 64
PAYLOAD = {"password": "correct horse battery staple"}


def loopback_url(raw: str) -> str:
    host = urlsplit(raw).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise argparse.ArgumentTypeError(f"{raw!r}: only 127.0.0.0/8 targets are allowed")
    return raw.rstrip("/")


def bounded(limit: float, kind: type[int] | type[float]) -> Any:
    def parse(raw: str) -> int | float:
        value = kind(raw)
        if not 0 < value <= limit:
            raise argparse.ArgumentTypeError(f"must be in (0, {limit:g}]")
        return value
    return parse


async def run(url: str, duration_s: float, max_requests: int, concurrency: int,
              path: str) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    issued = 0
    stop_at = time.monotonic() + duration_s
    timeout = aiohttp.ClientTimeout(total=10)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal issued
        while issued < max_requests and time.monotonic() < stop_at:
            issued += 1  # one event loop: no lock needed between workers
            started = time.perf_counter()
            try:
                async with session.post(f"{url}{path}", json=PAYLOAD) as response:
                    await response.read()
                    statuses[str(response.status)] += 1
            except (TimeoutError, aiohttp.ClientError) as exc:
                statuses[type(exc).__name__] += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        began = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    return summarise(latencies, statuses, elapsed)


def summarise(latencies: list[float], statuses: Counter[str], elapsed: float) -> dict[str, Any]:
    ordered = sorted(latencies)

    def pct(p: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2) if ordered else None

    ok = statuses.get("200", 0)
    return {"requests": sum(statuses.values()), "ok": ok, "statuses": dict(statuses),
            "elapsed_s": round(elapsed, 2), "rps": round(ok / elapsed, 1) if elapsed else 0.0,
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1], 2) if ordered else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", type=loopback_url, default="http://127.0.0.1:8080")
    parser.add_argument("--path", default="/v1/password-strength")
    parser.add_argument("--duration", type=bounded(MAX_DURATION_S, float), default=8.0)
    parser.add_argument("--requests", type=bounded(MAX_REQUESTS, int), default=4000)
    parser.add_argument("--concurrency", type=bounded(MAX_CONCURRENCY, int), default=8)
    parser.add_argument("--p99-ms", type=float, help="fail when p99 latency is above this")
    parser.add_argument("--min-rps", type=float, help="fail when throughput is below this")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.url, args.duration, args.requests, args.concurrency,
                             args.path))
    print(json.dumps(result))
    missed = ((args.p99_ms is not None and (result["p99_ms"] is None
                                            or result["p99_ms"] > args.p99_ms))
              or (args.min_rps is not None and result["rps"] < args.min_rps)
              or result["ok"] < result["requests"])
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
