"""gRPC throughput and latency of password-strength next to an empty call (the ceiling).

    .venv/bin/python bench/grpc_service.py --model /tmp/model.bin [--duration 5]

Both servers run in this process, built the same way (grpc.server, same thread pool); the
callers run in a child process so they do not compete for this process's GIL. Prints rps,
p50/p99 at 1 and 8 callers, the ratio to the empty call, and in-process scoring latency.
Goals: >= 50% of the empty call's rps at 8 callers, p99 < 15 ms, in-process p50 < 1 ms.
Figures only; this is not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import string
import sys
import time
from concurrent import futures
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "services/password-strength/src"))
sys.path.insert(0, str(REPO / "services/password-strength/perf"))

import load  # noqa: E402
from password_strength import model, server  # noqa: E402
from password_strength.estimator import Estimator  # noqa: E402
from password_strength.settings import Settings  # noqa: E402

EMPTY = "/bench.Empty/Call"
PASSWORD = "correct horse battery staple"
WORKERS = 8


def empty_server() -> tuple[grpc.Server, int]:
    """The ceiling: same server construction, a handler that does nothing with raw bytes."""
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS))
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: b"")
    srv.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "bench.Empty", {"Call": handler}),))
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    return srv, port


def measure(address: str, method: str, callers: int, duration: float,
            requests: int) -> load.Result:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(load.run, (address, method, load.evaluate_payload(PASSWORD), callers,
                                     duration, requests))


def in_process_latency(estimator: Estimator, samples: int = 2000) -> tuple[float, float]:
    rng = random.Random(7)
    pool = ["password", "Tr0ub4dor&3", PASSWORD, "Goldfish2019!", "letmein",
            "".join(rng.choice(string.printable[:94]) for _ in range(16))]
    timings = []
    for i in range(samples):
        password = pool[i % len(pool)]
        started = time.perf_counter()
        estimator.evaluate(password)
        timings.append(time.perf_counter() - started)
    timings.sort()
    return statistics.median(timings) * 1e3, timings[int(0.99 * len(timings))] * 1e3


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, help="model file (default $PASSWORD_STRENGTH_MODEL)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--requests", type=int, default=50_000, help="cap per measurement")
    args = parser.parse_args()
    estimator = Estimator(model.load(args.model))
    p50, p99 = in_process_latency(estimator)
    real = server.start(Settings(port=0, workers=WORKERS), estimator)
    empty, empty_port = empty_server()
    try:
        rows = []
        for callers in (1, 8):
            ceiling = measure(f"127.0.0.1:{empty_port}", EMPTY, callers, args.duration,
                              args.requests)
            evaluated = measure(f"127.0.0.1:{real.port}", load.EVALUATE, callers,
                                args.duration, args.requests)
            rows.append((callers, ceiling, evaluated))
    finally:
        real.server.stop(None)
        empty.stop(None)
    print(f"in-process scoring: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print(f"{'callers':>7}  {'empty rps':>10}  {'Evaluate rps':>12}  {'ratio':>6}  "
          f"{'empty p50/p99 ms':>17}  {'Evaluate p50/p99 ms':>20}  errors")
    for callers, ceiling, evaluated in rows:
        ratio = evaluated.rps / ceiling.rps if ceiling.rps else 0.0
        print(f"{callers:>7}  {ceiling.rps:>10.0f}  {evaluated.rps:>12.0f}  {ratio:>6.0%}  "
              f"{ceiling.p50_ms:>8.2f}/{ceiling.p99_ms:<8.2f}  "
              f"{evaluated.p50_ms:>10.2f}/{evaluated.p99_ms:<9.2f}  "
              f"{ceiling.errors + evaluated.errors}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
