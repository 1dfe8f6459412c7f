"""Fixtures for the stage tests: a real registry and a tiny monorepo in a tmp git repository.

The registry runs once per session in its own home (not the per-test CONVEYOR_HOME); the
tiny monorepo's conveyor.toml points at it. Two services on the real base image: `names`
(an HTTP app) and `greeter`, which needs `names` in its integration stage.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.config import loader
from conveyor.images import engine
from conveyor.pipeline.context import StageContext
from tests.support import repo
from tests.support.images import runner_files
from tests.support.repo import commit
from tests.support.repo import git_text as git

REAL_REPO = Path(__file__).resolve().parents[2]

APP = '''\
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import urlopen

GREETING = "hello"  # code: a change here is a code-only change


class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            return self._send(200, {"ok": True})
        if self.path == "/name":
            return self._send(200, {"name": "world"})
        if self.path == "/greet":
            upstream = os.environ["NAMES_URL"]
            with urlopen(upstream + "/name", timeout=2) as answer:
                name = json.load(answer)["name"]
            return self._send(200, {"greeting": f"{GREETING} {name}"})
        self._send(404, {})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self._send(200, {"echo": body})

    def log_message(self, *args):
        pass


ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
'''

DOCKERFILE = '''\
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS deps
COPY .conveyor/ca-bundle.pem /tmp/ca-bundle.pem
RUN python3 -m venv /opt/venv && rm /tmp/ca-bundle.pem

FROM deps AS unit
COPY services/SERVICE/ /src/
CMD ["/opt/venv/bin/python", "/src/tests/unit/run.py"]

FROM ${BASE_IMAGE}
COPY --from=deps /opt/venv /opt/venv
COPY services/SERVICE/app.py /app/app.py
USER 10001
CMD ["/opt/venv/bin/python", "/app/app.py"]
'''

INTEGRATION_TEST = '''\
import json, os
from urllib.request import urlopen


def test_greets_the_name_from_names():
    with urlopen(os.environ["GREETER_URL"] + "/greet", timeout=5) as answer:
        assert json.load(answer)["greeting"].endswith("world")
'''


def write(root: Path, path: str, text: str) -> None:
    repo.write(root, {path: text})


def make_monorepo(root: Path, registry: str) -> Path:
    repo.init(root)
    write(root, "conveyor.toml", f"""
        [project]
        global_paths = ["build/"]

        [registry]
        address = "{registry}"
        embedded = true
        """)
    shutil.copytree(REAL_REPO / "build" / "base", root / "build" / "base")
    for service in ("names", "greeter"):
        write(root, f"services/{service}/app.py", APP)
        write(root, f"services/{service}/Dockerfile", DOCKERFILE.replace("SERVICE", service))
        for path, text in runner_files(service, "unit", "integration").items():
            write(root, path, text)
        write(root, f"services/{service}/tests/unit/test_app.py", """
            import unittest


            class AppTest(unittest.TestCase):
                def test_arithmetic(self):
                    self.assertEqual(2 + 2, 4)
            """)
    write(root, "services/names/tests/integration/test_names.py", """
        import json, os
        from urllib.request import urlopen


        def test_gives_a_name():
            with urlopen(os.environ["NAMES_URL"] + "/name", timeout=5) as answer:
                assert json.load(answer) == {"name": "world"}
        """)
    write(root, "services/greeter/tests/integration/test_greeter.py", INTEGRATION_TEST)
    write(root, "pipelines/names.toml", """
        [service]
        name = "names"

        [image]
        repository = "conveyor-test/names"

        [integration]
        test_env = { NAMES_URL = "http://{self.address}" }

        [performance]
        kind = "http"
        target = "/name"
        duration_s = 2
        max_requests = 300
        concurrency = 4
        p99_ms = 500
        min_rps = 5
        """)
    write(root, "pipelines/greeter.toml", """
        [service]
        name = "greeter"

        [image]
        repository = "conveyor-test/greeter"

        [integration]
        needs = ["names"]
        env = { NAMES_URL = "http://{names.address}" }
        test_env = { GREETER_URL = "http://{self.address}" }

        [performance]
        kind = "http"
        target = "/greet"
        duration_s = 2
        max_requests = 300
        concurrency = 4
        p99_ms = 1000
        """)
    commit(root, "tiny monorepo")
    return root


@pytest.fixture
def monorepo(tmp_path: Path, registry: str) -> Path:
    return make_monorepo(tmp_path / "monorepo", registry)


def ours_running() -> list[str]:
    """Containers a stage of this test process started (the session label names our pid)."""
    marker = f"-{os.getpid()}-"
    return [c.name for c in engine.client().containers.list(
        all=True, filters={"label": "conveyor.session"})
        if marker in c.labels.get("conveyor.session", "")]


@pytest.fixture
def no_containers_left() -> Iterator[None]:
    """Proves that nothing a stage started is still there afterwards, whatever the outcome."""
    yield
    assert ours_running() == []


def stage_context(repo: Path, service: str, lines: list[str] | None = None,
                  reports_dir: Path | None = None) -> StageContext:
    """The context a stage gets for HEAD of `repo` (the checkout is the workspace)."""
    revision = git(repo, "rev-parse", "HEAD")
    return StageContext(
        config=loader.load_commit(repo, revision), repo=repo, workspace=repo, service=service,
        revision=revision, reports=reports_dir or repo / "reports" / service,
        run_id="test-run", progress=(lines.append if lines is not None else lambda _: None))
