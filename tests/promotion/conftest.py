"""Fixtures for promotion tests: a tiny HTTP image (three variants) in a real registry, a
fixture monorepo with its bare central repository, and evidence for the digests.

Nothing here depends on the real services' images: the `hello` service is 20 lines of
http.server on the local base image.
"""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.config import loader
from conveyor.config import model as config
from conveyor.images import base as base_image
from conveyor.images import containers, engine
from conveyor.promotion import identity
from conveyor.records import evidence
from tests.support import repo
from tests.support.images import runner_files
from tests.support.repo import git_text as git

REPO = Path(__file__).resolve().parents[2]
SERVICE = "hello"
STAGES = ("build", "unit", "integration", "performance")
PORT_BASES = {"test": 41000, "staging": 42000, "production": 43000}

APP = textwrap.dedent('''
    import json, os, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    VERSION, MODE = os.environ["VERSION"], os.environ.get("MODE", "good")
    if MODE == "crash":
        sys.exit("crashing on purpose")
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path in ("/healthz", "/readyz"):
                code, body = 200, {"ok": True}
            elif self.path == "/v1/answer" and MODE == "good":
                code, body = 200, {"version": VERSION, "greeting": os.environ.get("GREETING")}
            else:
                code, body = 500, {"error": "broken"}
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def log_message(self, *args):
            pass
    ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
''')

TEST_TARGET = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS unit
COPY services/hello/ /src/
CMD ["python3", "/src/tests/unit/run.py"]

FROM ${BASE_IMAGE}
CMD ["python3", "-c", "pass"]
"""
ACCEPTANCE = textwrap.dedent('''
    import json, os, urllib.request
    def test_answers():
        with urllib.request.urlopen(os.environ["HELLO_URL"] + "/v1/answer", timeout=5) as r:
            assert r.status == 200
            assert json.load(r)["greeting"] == "hi from " + os.environ["CONVEYOR_ENV"]
''')


@dataclass(frozen=True)
class Images:
    registry: str
    good: str  # digests
    good2: str
    bad_verify: str  # healthy, but its acceptance checks fail
    crash: str  # exits at start


@pytest.fixture(scope="session")
def registry_address(registry: str) -> str:
    """The session's one registry (tests/conftest.py)."""
    return registry


def build_and_push(base: str, registry: str, version: str, mode: str,
                    labels: dict[str, str] | None = None) -> str:
    dockerfile = (f"FROM {base}\nENV VERSION={version} MODE={mode}\nCOPY app.py /app/app.py\n"
                  'USER 10001\nCMD ["python3", "/app/app.py"]\n')
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in (("Dockerfile", dockerfile), ("app.py", APP)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    client = engine.client()
    repository = f"{registry}/conveyor/{SERVICE}"
    client.images.build(fileobj=buffer, custom_context=True, tag=f"{repository}:{version}",
                        rm=True, labels={"conveyor.test": "promotion", **(labels or {})})
    for line in client.images.push(repository, tag=version, stream=True, decode=True):
        if "error" in line:
            raise RuntimeError(line["error"])
        digest = (line.get("aux") or {}).get("Digest")
        if digest:
            return str(digest)
    raise RuntimeError("push reported no digest")


@pytest.fixture(scope="session")
def images(registry_address: str) -> Images:
    base = base_image.ensure(REPO / "build" / "base")
    return Images(
        registry=registry_address,
        good=build_and_push(base, registry_address, "v1", "good"),
        good2=build_and_push(base, registry_address, "v2", "good"),
        bad_verify=build_and_push(base, registry_address, "v3", "bad"),
        crash=build_and_push(base, registry_address, "v4", "crash"),
    )


# The OS account running the tests may override; production's approvers are named users.
ME = identity.current().name
APPROVERS = ["release-manager", "carol", ME]


def fixture_files(registry: str, port_bases: dict[str, int] | None = None) -> dict[str, str]:
    envs = "\n".join(
        f'[environments.{env}]\nrequires = {json.dumps(list(STAGES))}\n'
        f'automatic = {"false" if env == "production" else "true"}\n'
        f'approval = {"true" if env == "production" else "false"}\nport_base = {port}\n'
        f'approvers = {json.dumps(APPROVERS if env == "production" else [])}\n'
        f'overriders = {json.dumps([ME])}\n'
        for env, port in (port_bases or PORT_BASES).items())
    files = {
        "conveyor.toml": textwrap.dedent(f'''
            [project]
            default_branch = "main"
            promote_branches = ["main"]
            [registry]
            address = "{registry}"
            [environments]
            order = ["test", "staging", "production"]
        ''') + envs + textwrap.dedent('''
            [policy]
            promotion_identity = "Conveyor Promotions <promotions@conveyor.invalid>"
        '''),
        f"pipelines/{SERVICE}.toml": textwrap.dedent(f'''
            [service]
            name = "{SERVICE}"
            [image]
            repository = "conveyor/{SERVICE}"
            port = 8080
            [integration]
            health = "/readyz"
            tests = "services/{SERVICE}/tests/integration"
            test_env = {{ HELLO_URL = "http://{{self.address}}" }}
        '''),
        f"services/{SERVICE}/tests/integration/test_acceptance.py": ACCEPTANCE,
        # Verification runs the acceptance tests in the image's test target.
        f"services/{SERVICE}/Dockerfile": TEST_TARGET,
        f"services/{SERVICE}/tests/unit/test_nothing.py": "def test_nothing():\n    pass\n",
        **runner_files(SERVICE, "unit", "integration"),
        "build/base/recipe.toml": (REPO / "build" / "base" / "recipe.toml").read_text(),
        f"k8s/base/{SERVICE}/kustomization.yaml":
            "resources:\n- deployment.yaml\n- service.yaml\n- configmap.yaml\n",
        f"k8s/base/{SERVICE}/service.yaml": textwrap.dedent(f'''
            apiVersion: v1
            kind: Service
            metadata: {{name: {SERVICE}}}
            spec:
              selector: {{app: {SERVICE}}}
              ports: [{{name: http, port: 8080, targetPort: http}}]
        '''),
        f"k8s/base/{SERVICE}/configmap.yaml": textwrap.dedent(f'''
            apiVersion: v1
            kind: ConfigMap
            metadata: {{name: {SERVICE}}}
            data: {{HOST: "0.0.0.0", PORT: "8080", GREETING: "hi"}}
        '''),
        f"k8s/base/{SERVICE}/deployment.yaml": textwrap.dedent(f'''
            apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: {SERVICE}}}
            spec:
              replicas: 1
              selector: {{matchLabels: {{app: {SERVICE}}}}}
              template:
                metadata: {{labels: {{app: {SERVICE}}}}}
                spec:
                  containers:
                    - name: {SERVICE}
                      image: conveyor/{SERVICE}
                      ports: [{{name: http, containerPort: 8080}}]
                      envFrom: [{{configMapRef: {{name: {SERVICE}}}}}]
                      readinessProbe: {{httpGet: {{path: /readyz, port: http}}}}
                      securityContext: {{runAsNonRoot: true, runAsUser: 10001}}
        '''),
    }
    for env in PORT_BASES:
        replicas = 3 if env == "production" else 1
        files[f"k8s/overlays/{env}/kustomization.yaml"] = (
            f"resources:\n- ../../base/{SERVICE}\npatches:\n- path: config.yaml\n"
            f"- path: replicas.yaml\nimages: []\n")
        files[f"k8s/overlays/{env}/config.yaml"] = (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {SERVICE}}}\n"
            f"data: {{GREETING: hi from {env}}}\n")
        files[f"k8s/overlays/{env}/replicas.yaml"] = (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {SERVICE}}}\n"
            f"spec: {{replicas: {replicas}}}\n")
    return files


@dataclass(frozen=True)
class Monorepo:
    root: Path  # a developer's checkout (origin = central)
    central: Path  # the bare central repository
    config: config.Config


@pytest.fixture
def monorepo(tmp_path: Path, registry_address: str) -> Monorepo:
    return make_monorepo(tmp_path, registry_address)


def make_monorepo(tmp_path: Path, registry_address: str,
                  port_bases: dict[str, int] | None = None) -> Monorepo:
    central = tmp_path / "central.git"
    root = tmp_path / "checkout"
    repo.init(root, central)
    repo.write(root, fixture_files(registry_address, port_bases))
    repo.commit(root, "fixture monorepo")
    git(root, "push", "-q", "origin", "main")
    return Monorepo(root, central, loader.load_dir(root))


def give_evidence(digest: str, *, failing: tuple[str, ...] = (),
                  missing: tuple[str, ...] = (), revision: str = "f" * 40) -> None:
    for stage in STAGES:
        if stage in missing:
            continue
        evidence.record(evidence.Evidence(
            service=SERVICE, digest=digest, stage=stage,
            result="failed" if stage in failing else "passed", revision=revision))


@pytest.fixture
def clean_containers() -> Iterator[None]:
    containers.remove_labelled({"conveyor.service": SERVICE})
    yield
    containers.remove_labelled({"conveyor.service": SERVICE})
