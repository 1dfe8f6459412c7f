"""gRPC throughput and latency of password-strength next to an empty call (the ceiling).

    .venv/bin/python bench/grpc_service.py [--model /tmp/model.bin] [--duration 5]

Without --model (or $PASSWORD_STRENGTH_MODEL) it first trains the model the image build trains,
from the same inputs (as bench/password_model.py does; about 20 s).

The service runs as it does in production: PROCESSES forked server processes sharing the port
(SO_REUSEPORT, one per core by default). Two empty servers (a handler that returns no bytes)
give two ceilings: "empty", built exactly like the service (same processes, threads and
in-flight bound), so its ratio is what scoring costs and nothing else; and "empty-orig", the
ceiling this bench used before the service went multi-process (one process, 8 threads).
Callers run in a child process, each on its own connection (as separate clients would). The
empty server and the service are measured in turns (empty, service, service, empty, each for
half of --duration): rps over both turns, p50 their mean, p99 the worse.
Prints the machine's load average, rps and p50/p99 at 1 and 8 callers, the ratios to both
ceilings, the server processes' CPU per call (load-independent, unlike rps; the load generator
runs on the same cores, so rps also depends on what it costs), in-process scoring latency (and
the cost of the longest input zxcvbn sees, next to zxcvbn's own on it whole),
EvaluateBatch of 1,000 passwords against scoring them in-process, and each server process's memory.
Figures only; this is not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import statistics
import string
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "services/password-strength/src"))
sys.path.insert(0, str(REPO / "services/password-strength/perf"))

import load  # noqa: E402
from password_strength import limits, model, processes, server, settings, stubs  # noqa: E402
from password_strength.estimator import Estimator  # noqa: E402

EMPTY = "/bench.Empty/Call"
BATCH = "/passwordstrength.v1.PasswordStrength/EvaluateBatch"
PASSWORD = "correct horse battery staple"
ORIGINAL_WORKERS = 8  # the thread pool of the empty server the goals were first set against
GOALS = {"ratio_8": 0.50, "p99_8_ms": 15.0, "p99_1_ms": 3.0, "in_process_p50_ms": 0.5,
         "batch_overhead": 1.25, "rss_mib": 300.0}


def train_model(out: Path) -> None:
    """In a child process: this one, which the servers fork from, stays as lean as the
    service (no scikit-learn in their memory figures)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.apply(_train_into, (str(out),))


def _train_into(out: str) -> None:
    import password_model

    password_model.train_into(Path(out))


def empty_group(config: settings.Settings, count: int,
                workers: int | None = None) -> processes.ServerGroup:
    """The ceiling: the service's construction with a handler that does nothing."""
    def serve(port: int, ready: Callable[[], None]) -> int:
        import grpc

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        srv = grpc.server(futures.ThreadPoolExecutor(max_workers=workers or config.workers),
                          options=[("grpc.so_reuseport", 1)],
                          maximum_concurrent_rpcs=config.max_in_flight)
        handler = grpc.unary_unary_rpc_method_handler(lambda request, context: b"")
        srv.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "bench.Empty", {"Call": handler}),))
        srv.add_insecure_port(f"127.0.0.1:{port}")
        srv.start()
        ready()
        stop.wait()
        srv.stop(None)
        return 0
    return processes.ServerGroup("127.0.0.1", 0, count, serve)


def service_group(config: settings.Settings, learned: model.Model) -> processes.ServerGroup:
    stubs.load()  # before forking, so the children do not race to generate them

    def serve(port: int, ready: Callable[[], None]) -> int:
        import dataclasses

        return server.serve(dataclasses.replace(config, port=port), learned, True, ready)
    return processes.ServerGroup("127.0.0.1", 0, config.processes, serve)


def measure(group: processes.ServerGroup, method: str, callers: int, duration: float,
            requests: int) -> tuple[load.Result, float]:
    """The load's result and the servers' CPU milliseconds per call (user + system, from
    /proc): unlike rps, that figure hardly moves with the machine's other load."""
    ctx = multiprocessing.get_context("spawn")
    before = cpu_seconds(group.pids)
    with ctx.Pool(1) as pool:
        result = pool.apply(load.run, (f"127.0.0.1:{group.port}", method,
                                       load.evaluate_payload(PASSWORD), callers, duration,
                                       requests, callers))
    spent = cpu_seconds(group.pids) - before
    return result, spent / result.requests * 1e3 if result.requests else 0.0


Target = tuple[processes.ServerGroup, str]  # servers and the method to call


def measure_in_turns(first: Target, second: Target, callers: int, duration: float,
                     requests: int) -> tuple[tuple[load.Result, float], tuple[load.Result, float]]:
    """Both in turns, first, second, second, first, each for half the duration, so a drift of
    the machine's load falls on both alike (as the performance stage compares two digests)."""
    turns: tuple[list[tuple[load.Result, float]], ...] = ([], [])
    for which in (0, 1, 1, 0):
        group, method = (first, second)[which]
        turns[which].append(measure(group, method, callers, duration / 2, max(requests // 2, 1)))
    return combined(turns[0]), combined(turns[1])


def combined(parts: list[tuple[load.Result, float]]) -> tuple[load.Result, float]:
    """One result of several runs: rps over all of them, p50 their mean, p99 the worst."""
    count = sum(r.requests for r, _ in parts)
    seconds = sum(r.seconds for r, _ in parts)
    result = load.Result(
        requests=count, errors=sum(r.errors for r, _ in parts), seconds=seconds,
        rps=count / seconds if seconds else 0.0,
        p50_ms=statistics.fmean(r.p50_ms for r, _ in parts),
        p99_ms=max(r.p99_ms for r, _ in parts), shed=sum(r.shed for r, _ in parts))
    return result, sum(cpu * r.requests for r, cpu in parts) / count if count else 0.0


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def sample_passwords(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    fixed = ["password", "Tr0ub4dor&3", PASSWORD, "Goldfish2019!", "letmein"]
    out = []
    for i in range(count):
        if i % 2:
            out.append(fixed[i % len(fixed)])
        else:
            out.append("".join(rng.choice(string.printable[:94])
                               for _ in range(rng.randint(8, 20))))
    return out


def in_process_latency(estimator: Estimator, samples: int = 2000) -> tuple[float, float]:
    pool = sample_passwords(samples)
    timings = []
    for password in pool:
        started = time.perf_counter()
        estimator.evaluate(password)
        timings.append(time.perf_counter() - started)
    timings.sort()
    return statistics.median(timings) * 1e3, timings[int(0.99 * len(timings))] * 1e3


def longest_input_ms(estimator: Estimator, rounds: int = 200) -> tuple[float, float]:
    """Milliseconds to score a random string as long as zxcvbn ever sees (its counts in
    pieces, as served), and zxcvbn's own cost on it whole (what it cost before pieces.py)."""
    from zxcvbn_rs_py import zxcvbn

    rng = random.Random(5)
    password = "".join(rng.choice(string.printable[:94]) for _ in range(limits.ZXCVBN_MAX_CHARS))
    timings = []
    for score in (lambda: estimator.evaluate(password), lambda: zxcvbn(password, [])):
        started = time.perf_counter()
        for _ in range(rounds):
            score()
        timings.append((time.perf_counter() - started) / rounds * 1e3)
    return timings[0], timings[1]


def batch_overhead(address: str, estimator: Estimator, rounds: int = 5) -> tuple[float, float]:
    """Best-of-`rounds` seconds for 1,000 passwords: in-process, then one EvaluateBatch."""
    import grpc
    from password_strength import stubs

    pb2, _ = stubs.load()
    passwords = sample_passwords(limits.MAX_BATCH, seed=11)
    request = pb2.EvaluateBatchRequest(passwords=passwords).SerializeToString()
    local, remote = [], []
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(BATCH)
        call(request, timeout=60)  # connect and warm up
        for _ in range(rounds):
            started = time.perf_counter()
            for password in passwords:
                estimator.evaluate(password)
            local.append(time.perf_counter() - started)
            started = time.perf_counter()
            call(request, timeout=60)
            remote.append(time.perf_counter() - started)
    return min(local), min(remote)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, help="model file (default $PASSWORD_STRENGTH_MODEL, "
                        "else one is trained first)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--requests", type=int, default=50_000, help="cap per measurement")
    parser.add_argument("--processes", type=int, default=settings.default_processes())
    parser.add_argument("--workers", type=int, default=settings.Settings.workers,
                        help="threads per server process")
    args = parser.parse_args()
    try:
        if args.model is None and not os.environ.get(model.ENV_MODEL):
            with tempfile.TemporaryDirectory() as scratch:
                args.model = Path(scratch) / "model.bin"
                train_model(args.model)
                learned = model.load(args.model)
        else:
            learned = model.load(args.model)
    except model.ModelError as exc:
        print(f"grpc_service: {exc}", file=sys.stderr)
        return 2
    config = settings.Settings(port=0, processes=args.processes, workers=args.workers,
                               max_in_flight=1000, log_level="WARNING")
    # Fork both groups before this process creates any gRPC object.
    real = service_group(config, learned)
    empty = empty_group(config, config.processes)
    single = empty_group(config, 1, ORIGINAL_WORKERS)
    estimator = Estimator(learned)
    load_before = os.getloadavg()
    try:
        p50, p99 = in_process_latency(estimator)
        longest, longest_whole = longest_input_ms(estimator)
        rows = []
        for callers in (1, 8):
            (ceiling, ceiling_cpu), (evaluated, evaluated_cpu) = measure_in_turns(
                (empty, EMPTY), (real, load.EVALUATE), callers, args.duration, args.requests)
            one, _ = measure(single, EMPTY, callers, args.duration, args.requests)
            rows.append((callers, ceiling, evaluated, one, ceiling_cpu, evaluated_cpu))
        local_s, remote_s = batch_overhead(f"127.0.0.1:{real.port}", estimator)
        memory = [rss_mib(pid) for pid in real.pids]
    finally:
        real.stop(5.0)
        empty.stop(5.0)
        single.stop(5.0)
    load_after = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average before "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.2f}' for x in load_after)}; {config.processes} server processes "
          f"x {config.workers} threads")
    print(f"in-process scoring: p50 {p50:.3f} ms, p99 {p99:.3f} ms "
          f"(goal p50 <= {GOALS['in_process_p50_ms']} ms: "
          f"{verdict(p50 <= GOALS['in_process_p50_ms'])})")
    print(f"in-process, a random {limits.ZXCVBN_MAX_CHARS}-character string (zxcvbn's longest "
          f"input): {longest:.3f} ms (zxcvbn alone on it whole: {longest_whole:.3f} ms)")
    print(f"service and empty: grpcio sync servers (grpc.server, ThreadPoolExecutor), "
          f"{config.processes} processes x {config.workers} threads, SO_REUSEPORT, "
          f"maximum_concurrent_rpcs {config.max_in_flight}; "
          "empty = built like the service, its handler doing nothing; "
          f"empty-orig = the previous ceiling, 1 process x {ORIGINAL_WORKERS} threads")
    print(f"{'callers':>7}  {'empty rps':>10}  {'empty-orig':>11}  {'Evaluate rps':>12}  "
          f"{'ratio':>6}  {'r-orig':>7}  {'empty p50/p99 ms':>17}  "
          f"{'Evaluate p50/p99 ms':>20}  {'server CPU ms/call empty/Evaluate':>33}  errors")
    for callers, ceiling, evaluated, one, ceiling_cpu, evaluated_cpu in rows:
        ratio = evaluated.rps / ceiling.rps if ceiling.rps else 0.0
        ratio1 = evaluated.rps / one.rps if one.rps else 0.0
        print(f"{callers:>7}  {ceiling.rps:>10.0f}  {one.rps:>11.0f}  {evaluated.rps:>12.0f}  "
              f"{ratio:>6.0%}  {ratio1:>7.0%}  "
              f"{ceiling.p50_ms:>8.2f}/{ceiling.p99_ms:<8.2f}  "
              f"{evaluated.p50_ms:>10.2f}/{evaluated.p99_ms:<9.2f}  "
              f"{ceiling_cpu:>26.3f}/{evaluated_cpu:<6.3f}  "
              f"{ceiling.errors + evaluated.errors + one.errors}")
    (_, c1, e1, *_), (_, c8, e8, o8, *_) = rows
    ratio8 = e8.rps / c8.rps if c8.rps else 0.0
    ratio8_1 = e8.rps / o8.rps if o8.rps else 0.0
    print(f"goal 8 callers: ratio >= {GOALS['ratio_8']:.0%}: same construction "
          f"{verdict(ratio8 >= GOALS['ratio_8'])}, against empty-orig "
          f"{verdict(ratio8_1 >= GOALS['ratio_8'])};"
          f" p99 <= {GOALS['p99_8_ms']:g} ms ({verdict(e8.p99_ms <= GOALS['p99_8_ms'])}); "
          f"1 caller: p99 <= {GOALS['p99_1_ms']:g} ms ({verdict(e1.p99_ms <= GOALS['p99_1_ms'])})")
    overhead = remote_s / local_s if local_s else 0.0
    print(f"EvaluateBatch of {limits.MAX_BATCH}: {remote_s * 1e3:.1f} ms over gRPC, "
          f"{local_s * 1e3:.1f} ms in-process, x{overhead:.2f} "
          f"(goal <= x{GOALS['batch_overhead']}: {verdict(overhead <= GOALS['batch_overhead'])})")
    print(f"memory per server process (RSS): {', '.join(f'{m:.0f} MiB' for m in memory)} "
          f"(goal < {GOALS['rss_mib']:.0f} MiB: "
          f"{verdict(max(memory, default=0) < GOALS['rss_mib'])})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
