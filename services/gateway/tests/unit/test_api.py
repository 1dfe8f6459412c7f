"""The HTTP API against a real in-process gRPC fake: results, and every error mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from aiohttp.test_utils import TestClient

from gateway_support import FakeBackend, FakeStrength, gateway_with_fake

Scenario = Callable[[TestClient, FakeBackend], Awaitable[None]]


def run(scenario: Scenario, servicer: FakeStrength | None = None, **overrides: float) -> None:
    async def main() -> None:
        async with gateway_with_fake(servicer, **overrides) as (client, backend):
            await scenario(client, backend)
    asyncio.run(main())


async def expect_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


def test_scores_one_password() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength",
                                     json={"password": "correct horse battery staple"})
        assert response.status == 200
        assert await response.json() == {
            "score": 4, "log10_guesses": 12.0,
            "crack_time": {"display": "4 hours", "seconds": 14400.0},
            "feedback": {"warning": "", "suggestions": []},
        }
    run(scenario)


def test_user_inputs_reach_the_backend() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength", json={
            "password": "alice-in-wonderland", "user_inputs": ["alice-in-wonderland"]})
        body = await response.json()
        assert body["score"] == 0
        assert body["feedback"]["suggestions"] == ["Add another word or two."]
        assert list(backend.servicer.requests[-1].user_inputs) == ["alice-in-wonderland"]
    run(scenario)


def test_batch_scores_in_request_order() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength:batch",
                                     json={"passwords": ["abc", "correct horse battery",
                                                        "abcdefghij"]})
        assert response.status == 200
        results = (await response.json())["results"]
        assert [r["score"] for r in results] == [0, 4, 2]
    run(scenario)


def test_a_fixed_set_of_connections_serves_every_request() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        for _ in range(9):
            await client.post("/v1/password-strength", json={"password": "hunter22"})
        await client.get("/readyz")
        # Calls take turns over the 4 default connections (peers = client ports), whose
        # number never grows with the requests.
        assert len(set(backend.servicer.peers)) == 4
    run(scenario)


def test_backend_invalid_argument_is_400() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength", json={"password": ""})
        body = await expect_error(response, 400, "invalid_argument")
        assert "1..256" in body["error"]["message"]
        response = await client.post("/v1/password-strength:batch",
                                     json={"passwords": ["fine", "x" * 300]})
        body = await expect_error(response, 400, "invalid_argument")
        assert "passwords[1]" in body["error"]["message"]
    run(scenario)


def test_batch_size_is_checked_before_the_backend() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        for passwords in ([], ["p"] * 1001):
            response = await client.post("/v1/password-strength:batch",
                                         json={"passwords": passwords})
            await expect_error(response, 400, "invalid_request")
        assert backend.servicer.requests == []
    run(scenario)


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE,
                                  grpc.StatusCode.RESOURCE_EXHAUSTED])
def test_backend_unavailable_is_503(code: grpc.StatusCode) -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength", json={"password": "hunter22"})
        assert response.headers["Retry-After"] == "1"
        await expect_error(response, 503, {grpc.StatusCode.UNAVAILABLE: "backend_unavailable",
                                           grpc.StatusCode.RESOURCE_EXHAUSTED:
                                           "backend_overloaded"}[code])
    run(scenario, FakeStrength(fail_with=code))


def test_backend_down_is_503() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        await backend.stop()
        for path, body in (("/v1/password-strength", {"password": "hunter22"}),
                           ("/v1/password-strength:batch", {"passwords": ["hunter22"]})):
            await expect_error(await client.post(path, json=body), 503, "backend_unavailable")
    run(scenario)


def test_deadline_exceeded_is_503() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength", json={"password": "hunter22"})
        await expect_error(response, 503, "backend_timeout")
        response = await client.post("/v1/password-strength:batch",
                                     json={"passwords": ["hunter22"]})
        await expect_error(response, 503, "backend_timeout")
    run(scenario, FakeStrength(delay_s=1.0), deadline_s=0.2, batch_deadline_s=0.2)


def test_other_backend_failures_are_502() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength", json={"password": "hunter22"})
        await expect_error(response, 502, "backend_error")
    run(scenario, FakeStrength(fail_with=grpc.StatusCode.INTERNAL))


@pytest.mark.parametrize("raw", [
    b"{", b"not json", b"\xff\xfe", b"[]", b'"password"', b"null",
    b'{"password": 12}', b'{"password": null}', b"{}",
    b'{"password": "ok", "user_inputs": "alice"}',
    b'{"password": "ok", "user_inputs": [1]}',
    b'{"password": "ok", "pasword": "typo"}',
])
def test_malformed_or_mistyped_bodies_are_400(raw: bytes) -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength", data=raw,
                                     headers={"Content-Type": "application/json"})
        await expect_error(response, 400, "invalid_request")
        assert backend.servicer.requests == []
    run(scenario)


@pytest.mark.parametrize("raw", [b'{"passwords": "abc"}', b'{"passwords": [null]}', b"{}",
                                 b'{"password": "abc"}'])
def test_malformed_batches_are_400(raw: bytes) -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength:batch", data=raw)
        await expect_error(response, 400, "invalid_request")
    run(scenario)


def test_parse_errors_do_not_echo_the_body() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        response = await client.post("/v1/password-strength", data=b'{"password": "s3cr3t-pw",')
        assert "s3cr3t" not in await response.text()
    run(scenario)


def test_body_over_64_kib_is_413() -> None:
    big = json.dumps({"password": "x" * (64 * 1024)}).encode()

    async def chunked() -> Any:
        yield big[:1000]
        yield big[1000:]

    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        await expect_error(await client.post("/v1/password-strength", data=big),
                           413, "payload_too_large")
        # Without a Content-Length the limit is enforced while reading.
        await expect_error(await client.post("/v1/password-strength", data=chunked()),
                           413, "payload_too_large")
        assert backend.servicer.requests == []
    run(scenario)


def test_body_just_under_the_limit_reaches_the_backend() -> None:
    body = json.dumps({"password": "x" * (64 * 1024 - 100)}).encode()

    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        assert len(body) <= 64 * 1024
        response = await client.post("/v1/password-strength", data=body)
        await expect_error(response, 400, "invalid_argument")  # the backend's length rule
    run(scenario)


def test_unknown_routes_and_methods_answer_json() -> None:
    async def scenario(client: TestClient, backend: FakeBackend) -> None:
        await expect_error(await client.get("/nope"), 404, "not_found")
        await expect_error(await client.post("/v1/password-strength:other", json={}),
                           404, "not_found")
        response = await client.get("/v1/password-strength")
        await expect_error(response, 405, "method_not_allowed")
        assert response.headers["Allow"] == "POST"
    run(scenario)
