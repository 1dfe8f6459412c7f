"""`python -m password_strength.server` with PROCESSES=2: two servers on one port, SIGTERM
drains both, and a child that dies takes the instance down (exit 1) for a restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from password_strength import model

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def instance(small_model, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, dict]]:  # noqa: ANN001
    path = tmp_path / "model.bin"
    model.save(small_model, path)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PROCESSES": "2", "PASSWORD_STRENGTH_MODEL": str(path),
           "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path])}
    process = subprocess.Popen([sys.executable, "-m", "password_strength.server"], env=env,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    started: dict = {}
    deadline = time.monotonic() + 60
    while not started and time.monotonic() < deadline:
        line = json.loads(process.stderr.readline() or "{}")
        if line.get("msg") == "started":
            started = line
    assert started, "the instance did not start"
    yield process, port, started
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)


def test_two_processes_serve_one_port_and_drain_on_sigterm(instance, pb2, pb2_grpc) -> None:  # noqa: ANN001
    process, port, started = instance
    assert len(started["processes"]) == 2 and started["port"] == port
    for _ in range(6):  # separate connections: the kernel spreads them over both processes
        with grpc.insecure_channel(f"127.0.0.1:{port}",
                                   options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            stub = pb2_grpc.PasswordStrengthStub(channel)
            assert stub.Evaluate(pb2.EvaluateRequest(password="password"), timeout=10).score == 0
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0
    assert errors.count('"msg":"draining"') == 2


def test_a_dead_child_stops_the_instance(instance) -> None:  # noqa: ANN001
    process, _, started = instance
    os.kill(started["processes"][0], signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == 1
