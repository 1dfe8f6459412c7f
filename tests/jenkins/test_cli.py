"""The Jenkins path from the outside: `conveyor jenkins sync`, the dispatcher, and secrets.

The monorepo here is a copy of this repository's conveyor.toml and pipelines/ with Jenkins
pointed at the fake.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from conveyor import cli
from conveyor.errors import ConveyorError
from conveyor.executors import Trigger
from conveyor.intake import dispatch
from conveyor.intake.changes import RefUpdate
from conveyor.intake.outbox import Outbox
from conveyor.jenkins.client import Client, Credentials
from conveyor.jenkins.executor import JenkinsExecutor
from conveyor.records import db
from tests.support.fake_jenkins import FakeJenkins

from .conftest import REPO

ZERO = "0" * 40
IDENTITY = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


def monorepo(root: Path, fake: FakeJenkins, executor: str = "jenkins") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    toml = (REPO / "conveyor.toml").read_text()
    toml = toml.replace('url = "http://127.0.0.1:8080"', f'url = "{fake.url.rstrip("/")}"')
    toml = toml.replace('kind = "local"', f'kind = "{executor}"')
    toml = toml.replace('repository_url = "file:///srv/git/monorepo.git"',
                        'repository_url = "https://git.example.com/monorepo.git"')
    (root / "conveyor.toml").write_text(toml)
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    for service in ("gateway", "password-strength"):
        (root / "services" / service).mkdir(parents=True)
        (root / "services" / service / "main.py").write_text(f"print('{service}')\n")
    (root / "protos").mkdir()
    (root / "protos" / "api.proto").write_text('syntax = "proto3";\n')
    return root


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **IDENTITY}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True, timeout=30).stdout.strip()


def central_of(root: Path, bare: Path) -> tuple[Path, str]:
    """Commit the monorepo and clone it bare, as the central repository; (bare, head)."""
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    git(root.parent, "clone", "-q", "--bare", str(root), str(bare))
    return bare, git(bare, "rev-parse", "refs/heads/main")


@pytest.fixture
def credentials(fake: FakeJenkins, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JENKINS_USER", fake.user)
    monkeypatch.setenv("JENKINS_TOKEN", fake.token)


def test_sync_from_the_command_line(tmp_path: Path, fake: FakeJenkins, credentials: None,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = monorepo(tmp_path / "mono", fake)
    assert cli.main(["jenkins", "sync", "--dry-run", "--repo", str(root)]) == 0
    assert "would create folder conveyor" in capsys.readouterr().out
    assert fake.posts() == []
    assert cli.main(["jenkins", "sync", "--repo", str(root)]) == 0
    assert "create job conveyor/gateway" in capsys.readouterr().out
    assert cli.main(["jenkins", "sync", "--repo", str(root)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert cli.main(["jenkins", "sync", "--json", "--repo", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["changes"] == []
    assert cli.main(["jenkins", "status", "--json", "--repo", str(root)]) == 0
    assert '"gateway": null' in capsys.readouterr().out


def test_dispatcher_delivers_to_jenkins_once(tmp_path: Path, fake: FakeJenkins,
                                             credentials: None, client: Client) -> None:
    root = monorepo(tmp_path / "mono", fake)
    assert cli.main(["jenkins", "sync", "--repo", str(root)]) == 0
    bare, head = central_of(root, tmp_path / "central.git")
    fake.inject("POST", "/buildWithParameters", "drop-after")  # and the first answer is lost
    with Outbox(bare) as outbox:
        outbox.receive([RefUpdate(ZERO, head, b"refs/heads/main")])
    assert dispatch.run(bare, once=True) == 0
    fake.advance(5)  # the quiet period
    with Outbox(bare) as outbox:
        rows = outbox.rows()
        assert {r.trigger.service for r in rows} == {"gateway", "password-strength"}
        assert {r.state for r in rows} == {"delivered"}, [r.__dict__ for r in rows]
    for service in ("gateway", "password-strength"):
        [build] = fake.builds(f"conveyor/{service}")
        assert build.parameters["REVISION"] == head
    # the dispatcher left while the items were in their quiet period; status follows up
    assert cli.main(["jenkins", "status", "--repo", str(root)]) == 0
    conn = db.connect()
    try:
        urls = {r["service"]: r["url"] for r in conn.execute(
            "SELECT service, url FROM runs WHERE executor = 'jenkins'")}
    finally:
        conn.close()
    assert urls["gateway"] == fake.job_url("conveyor/gateway") + "1/"


def leaked_forms(user: str, token: str) -> list[str]:
    return [token, base64.b64encode(f"{user}:{token}".encode()).decode(),
            urllib.parse.quote(token, safe=""), f"{user}:{token}@",
            base64.b64encode(token.encode()).decode()]


def test_the_token_never_appears_anywhere(tmp_path: Path, fake: FakeJenkins,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str],
                                          caplog: pytest.LogCaptureFixture) -> None:
    root = monorepo(tmp_path / "mono", fake)
    token = "wr0ng-Secret-Token-5678"
    monkeypatch.setenv("JENKINS_USER", fake.user)
    monkeypatch.setenv("JENKINS_TOKEN", token)  # revoked: every call is refused with 401
    texts: list[str] = []
    assert cli.main(["--debug", "jenkins", "sync", "--repo", str(root)]) == 2
    monkeypatch.setenv("JENKINS_TOKEN", fake.token)
    # an error page that echoes the request (a proxy would), then a dropped connection
    echoed = f"Authorization: Basic {base64.b64encode(f'{fake.user}:{fake.token}'.encode())!r}"
    fake.inject("GET", "/config.xml", status=500, body=f"{echoed} token={fake.token}")
    assert cli.main(["--debug", "jenkins", "sync", "--repo", str(root)]) == 75
    fake.inject("GET", "/config.xml", "drop")
    assert cli.main(["--debug", "jenkins", "sync", "--repo", str(root)]) != 0
    assert cli.main(["--debug", "jenkins", "sync", "--repo", str(root)]) == 0
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    from conveyor.config import loader
    settings = loader.load_dir(root).settings
    executor = JenkinsExecutor(settings, str(root), follow_timeout=1.0)
    trigger = Trigger("t-secret", "gateway", "k" * 64, b"refs/heads/main", "b" * 40,
                      str(root), "push")
    fake.inject("POST", "/buildWithParameters", status=403, body=f"no: {fake.token}")
    with pytest.raises(ConveyorError) as refused:
        executor.submit(trigger)
    texts.append(str(refused.value))
    assert "403" in texts[-1] and "*****" in texts[-1]  # the echoed token was masked
    executor.submit(trigger)
    bad = JenkinsExecutor(settings, str(root),
                          client=Client(settings, Credentials(fake.user, token)))
    with pytest.raises(ConveyorError) as unauthorised:
        bad.submit(trigger)
    texts += [str(unauthorised.value), repr(Credentials(fake.user, token))]
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    conn = db.connect()
    try:
        texts += [repr(tuple(row)) for row in conn.execute("SELECT * FROM runs")]
    finally:
        conn.close()
    assert "401" in captured.err and "500" in captured.err  # the errors were there to see
    everything = "\n".join(texts)
    for secret in (token, fake.token):
        for form in leaked_forms(fake.user, secret):
            assert form not in everything, f"leaked: {form[:6]}…"


def test_status_shows_each_services_jenkins_build_and_result(
        tmp_path: Path, fake: FakeJenkins, credentials: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = monorepo(tmp_path / "mono", fake)
    shutil.copytree(REPO / "k8s", root / "k8s")  # status reads the overlays
    assert cli.main(["jenkins", "sync", "--repo", str(root)]) == 0
    bare, head = central_of(root, tmp_path / "central.git")
    git(root, "remote", "add", "origin", str(bare))
    with Outbox(bare) as outbox:
        outbox.receive([RefUpdate(ZERO, head, b"refs/heads/main")])
    assert dispatch.run(bare, once=True) == 0
    fake.advance(5)  # the quiet period
    fake.finish("conveyor/gateway", 1, "FAILURE")
    fake.finish("conveyor/password-strength", 1, "SUCCESS")
    capsys.readouterr()

    assert cli.main(["status", "--json", "--repo", str(root)]) == 0
    services = json.loads(capsys.readouterr().out)["services"]
    gateway = services["gateway"]["last_pipeline"]
    assert gateway["executor"] == "jenkins" and gateway["status"] == "failed"
    assert gateway["url"] == fake.job_url("conveyor/gateway") + "1/"
    assert services["password-strength"]["last_pipeline"]["status"] == "passed"

    fake.stop()  # Jenkins unreachable: status still answers, with one warning line
    assert cli.main(["status", "--repo", str(root)]) == 0
    assert "Jenkins: last build of gateway unknown" in capsys.readouterr().err
