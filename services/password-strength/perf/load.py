"""Bounded load against a running password-strength on 127.0.0.1:

    python services/password-strength/perf/load.py --addr 127.0.0.1:50051 \
        --duration 8 --requests 4000 --concurrency 8

Stops at whichever comes first, the duration or the request count, and prints one JSON line:
requests, errors, rps, p50_ms, p99_ms, shed (calls refused with RESOURCE_EXHAUSTED: the
service's in-flight bound; also counted in errors). Calls go out as raw bytes (the serialized
request), so the client costs the same whatever the method; only loopback addresses are
accepted.
"""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import grpc

EVALUATE = "/passwordstrength.v1.PasswordStrength/Evaluate"
MAX_DURATION_S = 120.0
MAX_REQUESTS = 1_000_000


@dataclass(frozen=True)
class Result:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    shed: int = 0


def run(address: str, method: str, payload: bytes, concurrency: int, duration_s: float,
        max_requests: int, connections: int = 1) -> Result:
    """`connections` > 1 spreads the callers over that many HTTP/2 connections, as many
    clients would; with several server processes on the port each gets its share."""
    check_loopback(address)
    duration_s = min(duration_s, MAX_DURATION_S)
    tickets = itertools.count()
    budget = min(max_requests, MAX_REQUESTS)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    shed = [0] * concurrency
    # A local subchannel pool per channel: otherwise equal channels share one connection.
    channels = [grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(max(connections, 1))]
    try:
        for channel in channels:
            grpc.channel_ready_future(channel).result(timeout=30)
        calls = [ch.unary_unary(method) for ch in channels]  # no serializers: raw bytes
        deadline = time.perf_counter() + duration_s

        def worker(slot: int) -> None:
            call = calls[slot % len(calls)]
            mine = latencies[slot]
            while next(tickets) < budget:
                started = time.perf_counter()
                if started >= deadline:
                    return
                try:
                    call(payload, timeout=10)
                except grpc.RpcError as exc:
                    errors[slot] += 1
                    shed[slot] += exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                mine.append(time.perf_counter() - started)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    finally:
        for channel in channels:
            channel.close()
    merged = sorted(itertools.chain.from_iterable(latencies))
    count = len(merged)
    return Result(requests=count, errors=sum(errors), seconds=round(elapsed, 3),
                  rps=round(count / elapsed, 1) if elapsed else 0.0,
                  p50_ms=round(_quantile(merged, 0.50) * 1e3, 3),
                  p99_ms=round(_quantile(merged, 0.99) * 1e3, 3), shed=sum(shed))


def _quantile(ordered: Sequence[float], q: float) -> float:
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def check_loopback(address: str) -> None:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to load {address}: only loopback addresses are allowed")


def evaluate_payload(password: str) -> bytes:
    """EvaluateRequest{password} by hand (field 1, length-delimited): no stubs needed."""
    data = password.encode("utf-8")
    return b"\x0a" + _varint(len(data)) + data


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default=os.environ.get("PASSWORD_STRENGTH_ADDR", ""))
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--password", default="correct horse battery staple")
    args = parser.parse_args(argv)
    if not args.addr:
        parser.error("--addr (or PASSWORD_STRENGTH_ADDR) is required")
    result = run(args.addr, EVALUATE, evaluate_payload(args.password), args.concurrency,
                 args.duration, args.requests, args.connections)
    print(json.dumps(asdict(result)))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
