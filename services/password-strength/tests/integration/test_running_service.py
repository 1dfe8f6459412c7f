"""Real gRPC calls against a running instance.

PASSWORD_STRENGTH_ADDR=host:port names it (127.0.0.1 only in our setups). For TLS set
PASSWORD_STRENGTH_CA_FILE to the CA (or self-signed certificate) to trust, and optionally
PASSWORD_STRENGTH_TLS_NAME to the name in the certificate (default: localhost).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

ADDRESS = os.environ.get("PASSWORD_STRENGTH_ADDR", "")
SERVICE = "passwordstrength.v1.PasswordStrength"

pytestmark = pytest.mark.skipif(
    not ADDRESS, reason="PASSWORD_STRENGTH_ADDR is not set (host:port of a running service)")


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    ca_file = os.environ.get("PASSWORD_STRENGTH_CA_FILE", "")
    if ca_file:
        name = os.environ.get("PASSWORD_STRENGTH_TLS_NAME", "localhost")
        credentials = grpc.ssl_channel_credentials(root_certificates=Path(ca_file).read_bytes())
        ch = grpc.secure_channel(ADDRESS, credentials,
                                 options=[("grpc.ssl_target_name_override", name)])
    else:
        ch = grpc.insecure_channel(ADDRESS)
    with ch:
        grpc.channel_ready_future(ch).result(timeout=30)
        yield ch


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel, pb2_grpc):  # noqa: ANN001, ANN201
    return pb2_grpc.PasswordStrengthStub(channel)


def test_evaluate_weak_and_strong(stub, pb2) -> None:  # noqa: ANN001
    weak = stub.Evaluate(pb2.EvaluateRequest(password="password1"), timeout=10)
    assert weak.score <= 1 and weak.log10_guesses < 6
    assert weak.feedback.warning and list(weak.feedback.suggestions)
    strong = stub.Evaluate(
        pb2.EvaluateRequest(password="correct horse battery staple gazebo"), timeout=10)
    assert strong.score == 4 and strong.crack_time_display == "centuries"


def test_user_inputs_count(stub, pb2) -> None:  # noqa: ANN001
    alone = stub.Evaluate(pb2.EvaluateRequest(password="quintessa-vlog"), timeout=10)
    told = stub.Evaluate(pb2.EvaluateRequest(password="quintessa-vlog",
                                             user_inputs=["quintessa", "vlog"]), timeout=10)
    assert told.log10_guesses < alone.log10_guesses


def test_evaluate_batch_keeps_order(stub, pb2) -> None:  # noqa: ANN001
    passwords = ["123456", "Tr0ub4dor&3", "q7#Vr!2xLp9@Zk4m"] * 10
    batch = stub.EvaluateBatch(pb2.EvaluateBatchRequest(passwords=passwords), timeout=30)
    assert len(batch.results) == len(passwords)
    assert [r.score for r in batch.results[:3]] == [0, batch.results[1].score, 4]
    full = stub.EvaluateBatch(pb2.EvaluateBatchRequest(passwords=["abc"] * 1000), timeout=60)
    assert len(full.results) == 1000


@pytest.mark.parametrize(("method", "request_kwargs", "message"), [
    ("Evaluate", {"password": ""}, "must not be empty"),
    ("Evaluate", {"password": "x" * 257}, "at most 256"),
    ("EvaluateBatch", {"passwords": ["ok"] * 1001}, "at most 1000"),
])
def test_limits_are_invalid_argument(stub, pb2, method: str,  # noqa: ANN001
                                     request_kwargs: dict, message: str) -> None:
    request = (pb2.EvaluateRequest if method == "Evaluate" else pb2.EvaluateBatchRequest)
    with pytest.raises(grpc.RpcError) as caught:
        getattr(stub, method)(request(**request_kwargs), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()


def test_long_password_past_zxcvbn_limit(stub, pb2) -> None:  # noqa: ANN001
    answer = stub.Evaluate(pb2.EvaluateRequest(password="ab1!" * 64), timeout=10)
    assert 0 <= answer.score <= 4


def test_non_utf8_is_invalid_argument(channel: grpc.Channel) -> None:
    raw = channel.unary_unary(f"/{SERVICE}/Evaluate")
    with pytest.raises(grpc.RpcError) as caught:
        raw(b"\x0a\x02\xff\xfe", timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in caught.value.details()


def test_health_is_serving(channel: grpc.Channel) -> None:
    check = health_pb2_grpc.HealthStub(channel).Check
    for name in ("", SERVICE):
        answer = check(health_pb2.HealthCheckRequest(service=name), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_service(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    answers = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    names = {s.name for s in answers[0].list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names
