"""Past MAX_IN_FLIGHT the service refuses at once with RESOURCE_EXHAUSTED; admitted calls keep
their latency (no queue builds up behind the bound)."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import grpc
import pytest

from password_strength import server, service
from password_strength.estimator import Estimate, Estimator
from password_strength.feedback import Feedback

EVALUATE = f"/{service.SERVICE_NAME}/Evaluate"
SCORING_S = 0.05  # every admitted call takes this long
BOUND = 2


class SlowEstimator(Estimator):
    def evaluate(self, password, user_inputs=()):  # noqa: ANN001, ANN201
        time.sleep(SCORING_S)
        return Estimate(score=0, log10_guesses=1.0, crack_time_seconds=0.0,
                        crack_time_display="less than a second", feedback=Feedback())


@pytest.fixture
def bounded(small_model):  # noqa: ANN001, ANN201
    from password_strength.settings import Settings

    live = server.start(Settings(port=0, workers=8, max_in_flight=BOUND),
                        SlowEstimator(small_model))
    yield live
    live.server.stop(None)


def test_overload_is_shed_at_once_and_admitted_calls_keep_their_latency(
        bounded: server.Running, pb2) -> None:  # noqa: ANN001
    payload = pb2.EvaluateRequest(password="password").SerializeToString()
    outcomes: list[tuple[str, float]] = []
    lock = threading.Lock()
    with grpc.insecure_channel(f"127.0.0.1:{bounded.port}") as channel:
        call = channel.unary_unary(EVALUATE)
        call(payload, timeout=10)
        start = threading.Barrier(12)

        def caller() -> None:
            start.wait()
            for _ in range(5):
                began = time.perf_counter()
                try:
                    call(payload, timeout=10)
                    code = "OK"
                except grpc.RpcError as exc:
                    code = exc.code().name
                with lock:
                    outcomes.append((code, time.perf_counter() - began))

        with futures.ThreadPoolExecutor(12) as pool:
            for f in [pool.submit(caller) for _ in range(12)]:
                f.result()
    admitted = [s for code, s in outcomes if code == "OK"]
    shed = [s for code, s in outcomes if code == "RESOURCE_EXHAUSTED"]
    assert len(admitted) + len(shed) == len(outcomes) == 60
    assert shed, "12 callers against a bound of 2 must be shed"
    assert admitted
    # Admitted calls cost the scoring time, not a wait in a queue of 10 others (0.5 s).
    assert max(admitted) < SCORING_S * 4, sorted(admitted)[-5:]
    # Shed calls are answered at once, without waiting for a slot.
    assert sorted(shed)[len(shed) // 2] < SCORING_S
