"""The gRPC layer in-process on 127.0.0.1: status codes, health, drain, TLS and mTLS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from password_strength import server, service
from password_strength.estimator import Estimator
from password_strength.settings import Settings

EVALUATE = f"/{service.SERVICE_NAME}/Evaluate"


@pytest.fixture
def running(small_model) -> Iterator[server.Running]:  # noqa: ANN001
    live = server.start(Settings(port=0, workers=2), Estimator(small_model))
    yield live
    live.server.stop(None)


@pytest.fixture
def channel(running: server.Running) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
        yield ch


def test_evaluate_and_batch(channel: grpc.Channel, pb2, pb2_grpc) -> None:  # noqa: ANN001
    stub = pb2_grpc.PasswordStrengthStub(channel)
    weak = stub.Evaluate(pb2.EvaluateRequest(password="password"), timeout=10)
    assert weak.score == 0 and weak.feedback.warning and weak.crack_time_display
    batch = stub.EvaluateBatch(
        pb2.EvaluateBatchRequest(passwords=["password", "q7#Vr!2xLp9@Zk4m"]), timeout=10)
    assert [r.score for r in batch.results] == [0, 4]


@pytest.mark.parametrize(("request_kwargs", "message"), [
    ({"password": ""}, "must not be empty"),
    ({"password": "x" * 257}, "at most 256"),
])
def test_bad_input_is_invalid_argument(channel: grpc.Channel, pb2, pb2_grpc,  # noqa: ANN001
                                       request_kwargs: dict, message: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        pb2_grpc.PasswordStrengthStub(channel).Evaluate(
            pb2.EvaluateRequest(**request_kwargs), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()


def test_batch_limits(channel: grpc.Channel, pb2, pb2_grpc) -> None:  # noqa: ANN001
    stub = pb2_grpc.PasswordStrengthStub(channel)
    for passwords, message in ((["ok"] * 1001, "at most 1000"), ([], "must not be empty"),
                               (["ok", ""], "passwords[1]")):
        with pytest.raises(grpc.RpcError) as caught:
            stub.EvaluateBatch(pb2.EvaluateBatchRequest(passwords=passwords), timeout=10)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in caught.value.details()


def test_non_utf8_bytes_are_invalid_argument(channel: grpc.Channel) -> None:
    # Field 1 (password), wire type 2, length 2, bytes that are not UTF-8.
    raw = channel.unary_unary(EVALUATE, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as caught:
        raw(b"\x0a\x02\xff\xfe", timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in caught.value.details()


def test_health_serves_then_drains(running: server.Running, channel: grpc.Channel) -> None:
    check = health_pb2_grpc.HealthStub(channel).Check
    for name in ("", service.SERVICE_NAME):
        answer = check(health_pb2.HealthCheckRequest(service=name), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    running.health.enter_graceful_shutdown()
    answer = check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING


def test_tls_and_mutual_tls(small_model, tmp_path: Path, pb2, pb2_grpc,  # noqa: ANN001
                            make_certificate) -> None:  # noqa: ANN001
    cert, key = make_certificate(tmp_path, "server")
    client_cert, client_key = make_certificate(tmp_path, "client")
    settings = Settings(port=0, workers=2, tls_cert_file=cert, tls_key_file=key,
                        tls_client_ca_file=client_cert)
    live = server.start(settings, Estimator(small_model))
    try:
        address = f"localhost:{live.port}"
        trusted = grpc.ssl_channel_credentials(
            root_certificates=cert.read_bytes(), private_key=client_key.read_bytes(),
            certificate_chain=client_cert.read_bytes())
        with grpc.secure_channel(address, trusted) as ch:
            answer = pb2_grpc.PasswordStrengthStub(ch).Evaluate(
                pb2.EvaluateRequest(password="password"), timeout=10)
            assert answer.score == 0
        anonymous = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(address, anonymous) as ch, pytest.raises(grpc.RpcError):
            pb2_grpc.PasswordStrengthStub(ch).Evaluate(
                pb2.EvaluateRequest(password="password"), timeout=10)
    finally:
        live.server.stop(None)
