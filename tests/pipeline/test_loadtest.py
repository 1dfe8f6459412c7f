"""The load generator: bounded, histogram figures, gRPC requests encoded through reflection."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from conveyor.errors import ConveyorError, Refusal
from conveyor.images import containers
from conveyor.pipeline import grpc_payload, loadtest
from conveyor.util import charts


@pytest.fixture
def http_service() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps({"echo": json.loads(body)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@contextmanager
def health_server(servicer: health.HealthServicer, **options: Any) -> Iterator[str]:
    """A gRPC health service with reflection on 127.0.0.1; its address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), **options)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    reflection.enable_server_reflection(
        (health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME), server)
    port = containers.free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


@pytest.fixture
def grpc_service() -> Iterator[str]:
    with health_server(health.HealthServicer()) as address:
        yield address


def test_http_load_stops_at_the_request_count(http_service: str) -> None:
    outcome = loadtest.run(loadtest.Load("http", http_service, "/x", '{"a": 1}', 30, 200, 4))
    figures = outcome.figures()

    assert figures["requests"] == 200 and figures["errors"] == 0
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["rps"] > 0
    assert charts.latency_chart(figures["distribution_ms"], "x").startswith("<svg")


def test_grpc_load_encodes_the_json_payload_through_reflection(grpc_service: str) -> None:
    outcome = loadtest.run(loadtest.Load("grpc", grpc_service, "/grpc.health.v1.Health/Check",
                                         '{"service": ""}', 30, 100, 4))
    assert outcome.requests == 100 and outcome.errors == 0, outcome.first_error


class SlowHealth(health.HealthServicer):
    def Check(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC's method name
        time.sleep(0.05)
        return super().Check(request, context)


def test_calls_the_service_sheds_are_counted_apart_from_errors() -> None:
    """Beyond its in-flight bound the service answers RESOURCE_EXHAUSTED at once (it sheds);
    the load test reports the shed rate and counts no error for them."""
    with health_server(SlowHealth(), maximum_concurrent_rpcs=1) as address:
        outcome = loadtest.run(loadtest.Load("grpc", address, "/grpc.health.v1.Health/Check",
                                             '{"service": ""}', 30, 60, 6))
    figures = outcome.figures()
    assert figures["errors"] == 0, outcome.first_error
    assert 0 < figures["shed"] < 60 and figures["shed_rate"] == round(figures["shed"] / 60, 4)
    assert figures["requests"] == 60


def test_a_payload_that_does_not_fit_the_method_is_named(grpc_service: str) -> None:
    with pytest.raises(ConveyorError, match="does not fit"):
        grpc_payload.request_bytes(grpc_service, "/grpc.health.v1.Health/Check", '{"nope": 1}')


def test_load_is_only_sent_to_loopback() -> None:
    with pytest.raises(Refusal):
        loadtest.run(loadtest.Load("http", "10.0.0.1:80", "/", "", 1, 1, 1))


def test_without_reflection_the_workspace_protos_describe_the_request(tmp_path: Path) -> None:
    proto = tmp_path / "protos" / "demo" / "v1" / "demo.proto"
    proto.parent.mkdir(parents=True)
    proto.write_text('syntax = "proto3";\npackage demo.v1;\n'
                     "message Ask { string password = 1; repeated string user_inputs = 2; }\n"
                     "message Answer { int32 score = 1; }\n"
                     "service Demo { rpc Evaluate(Ask) returns (Answer); }\n")
    port = containers.free_port()  # nothing listens: reflection is unavailable
    data = grpc_payload.request_bytes(f"127.0.0.1:{port}", "/demo.v1.Demo/Evaluate",
                                      '{"password": "hunter2", "user_inputs": ["bob"]}',
                                      [tmp_path / "protos"])
    assert data == b"\n\x07hunter2\x12\x03bob"  # Ask in the proto3 wire format
