"""The fixture monorepo of the pipeline and image tests: two tiny HTTP services on the real
base image, `names` and `greeter` (which needs `names` in its integration stage), with a
conveyor.toml pointing at the session's registry.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support import repo
from tests.support.images import runner_files
from tests.support.repo import commit

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


