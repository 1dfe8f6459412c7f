"""End to end over real HTTP against a running gateway wired to a real password-strength.

Conveyor's integration stage starts both images and sets GATEWAY_URL (http://127.0.0.1:PORT).
These tests use only the standard library so they run anywhere the URL is reachable.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

import pytest

GATEWAY_URL = os.environ.get("GATEWAY_URL", "").rstrip("/")

pytestmark = pytest.mark.skipif(
    not GATEWAY_URL, reason="GATEWAY_URL is not set: these tests need a running gateway "
    "(conveyor's integration stage sets it, e.g. GATEWAY_URL=http://127.0.0.1:8080)")


def call(path: str, body: bytes | dict[str, Any] | None = None,
         method: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(f"{GATEWAY_URL}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def assert_error(answer: tuple[int, Any], status: int) -> str:
    code, body = answer
    assert code == status, body
    assert set(body["error"]) == {"code", "message"}
    return str(body["error"]["code"])


def test_ready_and_alive() -> None:
    assert call("/healthz") == (200, {"status": "ok"})
    assert call("/readyz") == (200, {"status": "ready"})


def test_a_weak_password_scores_low_with_advice() -> None:
    status, body = call("/v1/password-strength", {"password": "password1"})
    assert status == 200, body
    assert body["score"] <= 1
    assert body["crack_time"]["display"]
    assert body["feedback"]["warning"] or body["feedback"]["suggestions"]


def test_a_strong_password_scores_high() -> None:
    status, body = call("/v1/password-strength",
                        {"password": "vN7#qLp2!xWz9$kRt4@mB"})
    assert status == 200, body
    assert body["score"] >= 3
    assert body["log10_guesses"] > 8


def test_user_inputs_weaken_a_password_built_from_them() -> None:
    password = "Zanzibar-Quokka-1987"
    plain = call("/v1/password-strength", {"password": password})[1]
    personal = call("/v1/password-strength",
                    {"password": password, "user_inputs": ["zanzibar", "quokka", "1987"]})[1]
    assert personal["log10_guesses"] < plain["log10_guesses"]


def test_batch_keeps_request_order() -> None:
    status, body = call("/v1/password-strength:batch",
                        {"passwords": ["123456", "vN7#qLp2!xWz9$kRt4@mB", "password"]})
    assert status == 200, body
    scores = [result["score"] for result in body["results"]]
    assert len(scores) == 3 and scores[1] > scores[0] and scores[1] > scores[2]


def test_bad_requests_are_400() -> None:
    assert_error(call("/v1/password-strength", b"{not json"), 400)
    assert_error(call("/v1/password-strength", {"password": ["a"]}), 400)
    assert_error(call("/v1/password-strength:batch", {"passwords": ["a"] * 1001}), 400)
    # The backend's own rules (empty, over 256 characters) come back as 400 too.
    assert assert_error(call("/v1/password-strength", {"password": ""}), 400) \
        == "invalid_argument"
    assert assert_error(call("/v1/password-strength", {"password": "x" * 300}), 400) \
        == "invalid_argument"


def test_a_body_over_64_kib_is_413() -> None:
    body = json.dumps({"password": "x" * (65 * 1024)}).encode()
    assert assert_error(call("/v1/password-strength", body), 413) == "payload_too_large"


def test_unknown_route_is_404() -> None:
    assert assert_error(call("/v2/nothing"), 404) == "not_found"
