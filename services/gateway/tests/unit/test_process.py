"""`python -m gateway` as a process: it serves, logs no passwords, and drains on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

import gateway
from gateway_support import SyncFake, sync_backend

SRC = Path(gateway.__file__).resolve().parents[1]
SECRET = "Tr0ub4dor&3-never-logged"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def gateway_process(backend: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port),
           "PASSWORD_STRENGTH_ADDR": backend, "LOG_LEVEL": "DEBUG",
           "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path])}
    process = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    # Nothing listens at the backend address: scoring answers 503, the logged path.
    with gateway_process(f"127.0.0.1:{free_port()}") as running:
        yield running


def test_sigterm_drains_and_exits_cleanly_without_logging_passwords(
        server: tuple[subprocess.Popen[str], str]) -> None:
    process, url = server
    request = urllib.request.Request(f"{url}/v1/password-strength?password={SECRET}",
                                     data=json.dumps({"password": SECRET}).encode())
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=10)
    assert failure.value.code == 503
    assert failure.value.headers["Retry-After"] == "1"
    failure.value.close()  # its socket, else a ResourceWarning lands in a later test

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert {"msg": "request", "path": "/v1/password-strength", "status": 503}.items() <= \
        [e for e in lines if e["msg"] == "request"][-1].items()  # the access log has the path...
    assert SECRET not in output  # ...but neither the query string nor the body


def test_a_missing_setting_is_a_one_line_error() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PASSWORD_STRENGTH_ADDR"}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *sys.path])
    done = subprocess.run([sys.executable, "-m", "gateway"], env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith("gateway: PASSWORD_STRENGTH_ADDR")


def test_sigterm_lets_an_in_flight_request_finish() -> None:
    with sync_backend(SyncFake(delay_s=1.0)) as backend, \
            gateway_process(backend) as (process, url), \
            ThreadPoolExecutor(max_workers=1) as pool:
        request = urllib.request.Request(f"{url}/v1/password-strength",
                                         data=json.dumps({"password": "hunter22"}).encode())
        answer = pool.submit(lambda: urllib.request.urlopen(request, timeout=10).status)
        time.sleep(0.4)  # the request is now waiting on the slow backend
        process.send_signal(signal.SIGTERM)
        assert answer.result(timeout=10) == 200
        process.communicate(timeout=20)
        assert process.returncode == 0
