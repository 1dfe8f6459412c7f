"""The whole Jenkins flow on the fake, as a team would run it on Jenkins:

sync → push through the hook → the dispatcher it starts → Jenkins' queue (the first answer
lost, the retry answered `303` for the item already queued) → the build checks out and
compiles the pushed Jenkinsfile → its stages (`conveyor stage …` with the environment Jenkins
gives `sh`) → automatic promotions, refused into a frozen environment → the approval →
production. The image stages' own work (docker build, tests) is stubbed with a prebuilt
image; everything around them, promotion included, is real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conveyor import cli
from conveyor.config.stages import STAGES
from conveyor.intake import install
from conveyor.intake.outbox import Outbox
from conveyor.jenkins import builds
from conveyor.pipeline import runner
from conveyor.pipeline.context import StageContext, StageResult
from conveyor.promotion import overlays
from conveyor.records import ledger
from tests.promotion.conftest import (  # noqa: F401  (fixtures, by name)
    PORT_BASES,
    SERVICE,
    Images,
    Monorepo,
    clean_containers,
    git,
    images,
    monorepo,
    registry_address,
)
from tests.support.fake_jenkins import FakeJenkins, running, wait_until

from .conftest import REPO

pytestmark = [pytest.mark.docker, pytest.mark.slow]
JOB = f"conveyor/{SERVICE}"
IDENTITY = ["-c", "user.name=Dev", "-c", "user.email=dev@example.invalid"]


@pytest.fixture
def jenkins() -> Iterator[FakeJenkins]:
    """Jenkins started with -Dhudson.plugins.git.GitSCM.ALLOW_LOCAL_CHECKOUT=true."""
    yield from running(allow_local_checkout=True)


def wire_jenkins(repo: Monorepo, jenkins: FakeJenkins) -> None:
    toml = repo.root / "conveyor.toml"
    text = toml.read_text()
    for port in PORT_BASES.values():  # not the promotion tests' ports: they may be running
        text = text.replace(f"port_base = {port}\n", f"port_base = {port + 3500}\n")
    toml.write_text(text + f'''
[executor]
kind = "jenkins"

[jenkins]
url = "{jenkins.url.rstrip('/')}"
folder = "conveyor"
repository_url = "{repo.central}"
allow_local_repository = true
approvers = "carol"
''')
    shutil.copy(REPO / "Jenkinsfile", repo.root / "Jenkinsfile")
    (repo.root / "services" / SERVICE / "NOTES.md").write_text("a change to build\n")
    git(repo.root, "add", ".")
    git(repo.root, *IDENTITY, "commit", "-qm", "run on Jenkins")


def delivered(central: Path) -> list[str]:
    with Outbox(central) as outbox:
        return [r.state for r in outbox.rows() if r.trigger is not None]


def stub_stages(monkeypatch: pytest.MonkeyPatch, digest: str) -> None:
    """The image stages' own work, replaced by the prebuilt image (tests/pipeline run it)."""
    def stage(name: str) -> Callable[[StageContext], StageResult]:
        def run(ctx: StageContext) -> StageResult:
            if name == "build":
                ctx.report("digest").write_text(digest + "\n")
            return StageResult(name, True, digest, f"{name}: passed (stub)")
        return run
    for name in STAGES:
        monkeypatch.setitem(runner.RUNNERS, name, stage(name))


def sh(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], workspace: Path,
       capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """One `sh 'conveyor …'` of the Jenkinsfile, in the build's environment."""
    with monkeypatch.context() as env:
        for name, value in environment.items():
            env.setenv(name, value)
        code = cli.main([*args, "--repo", str(workspace)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_push_to_production_through_jenkins(
        jenkins: FakeJenkins, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest) -> None:
    repo: Monorepo = request.getfixturevalue("monorepo")
    built: Images = request.getfixturevalue("images")
    request.getfixturevalue("clean_containers")
    monkeypatch.setenv("JENKINS_USER", jenkins.user)
    monkeypatch.setenv("JENKINS_TOKEN", jenkins.token)
    monkeypatch.setenv("CONVEYOR_RETRY_BASE_S", "0.05")
    wire_jenkins(repo, jenkins)
    assert cli.main(["jenkins", "sync", "--repo", str(repo.root)]) == 0
    install.install(repo.central)

    # The first answer is lost after Jenkins queued the build; the look-up that follows
    # fails; the retry reads a queue listing from before the item (a caching proxy): its
    # POST is answered 303 with the queued item.
    jenkins.inject("POST", "/buildWithParameters", "drop-after")
    jenkins.inject("GET", "/queue/api/json", "drop", skip=1)
    jenkins.inject("GET", "/queue/api/json", status=200, body='{"items": []}', skip=1)
    subprocess.run(["git", "-C", str(repo.root), "push", "-q", "origin", "main"],
                   check=True, timeout=60)
    revision = git(repo.root, "rev-parse", "HEAD")

    def progress() -> bool:
        if any(s.status == 303 for s in jenkins.posts()):
            jenkins.advance(1)  # Jenkins' clock: the quiet period passes
        return delivered(repo.central) == ["delivered"]
    assert wait_until(progress, timeout=60), (
        delivered(repo.central),
        (repo.central / "conveyor" / "dispatch.log").read_text())
    assert [s.status for s in jenkins.posts() if "buildWithParameters" in s.path] == [-1, 303]
    [build] = jenkins.builds(JOB)  # one trigger, one build
    assert build.result is None, build.log  # checked out, compiled, running
    assert build.parameters["REVISION"] == revision
    assert build.parameters["ASK_APPROVAL"] == "yes"  # main promotes, production needs it
    trigger_id = build.parameters["TRIGGER_ID"]
    assert cli.main(["jenkins", "sync", "--repo", str(repo.root)]) == 0
    assert "up to date" in capsys.readouterr().out  # the build changed nothing sync owns

    # The agent's workspace: the pushed commit, as the git plugin checks it out.
    workspace = tmp_path / "workspace"
    subprocess.run(["git", "clone", "-q", str(repo.central), str(workspace)], check=True)
    git(workspace, "checkout", "-q", revision)
    environment = {**jenkins.environment(JOB, 1), "CONVEYOR_EXECUTOR": "jenkins",
                   "GIT_URL": str(repo.central)}
    stub_stages(monkeypatch, built.good)
    for stage in STAGES:
        assert sh(monkeypatch, environment, workspace, capsys, "stage", stage)[0] == 0

    # Automatic promotions, by conveyor's rule: staging is frozen (after a rollback).
    ledger.freeze(SERVICE, "staging", reason="rolled back", actor="alice")
    code, out = sh(monkeypatch, environment, workspace, capsys, "stage", "promote",
                   "--env", "test")
    assert code == 0 and "skipped" not in out, out
    code, out = sh(monkeypatch, environment, workspace, capsys, "stage", "promote",
                   "--env", "staging")
    assert code == 0 and "skipped:" in out and "frozen" in out
    pipeline = repo.config.pipeline(SERVICE)
    git(repo.root, "pull", "-q", "origin", "main")
    assert overlays.pinned(repo.root, "staging", pipeline) is None
    assert overlays.pinned(repo.root, "test", pipeline) == built.good

    # Unfrozen, the next build's staging stage promotes; then the approval (the input step
    # records who pressed Promote on the build; conveyor reads it from Jenkins and checks
    # production's approvers).
    ledger.unfreeze(SERVICE, "staging")
    assert sh(monkeypatch, environment, workspace, capsys, "stage", "promote",
              "--env", "staging")[0] == 0
    # Before anyone pressed Promote, a self-declared approver is nobody.
    forged = {**environment, "APPROVER": "carol"}
    code, out = sh(monkeypatch, forged, workspace, capsys, "stage", "promote",
                   "--env", "production")
    assert code == 2 and "no approval recorded by Jenkins' input step" in out, out
    jenkins.approve(JOB, 1, "carol")  # Jenkins records who pressed Promote
    approved = {**environment, "APPROVER": "mallory"}  # and what $APPROVER says is ignored
    code, out = sh(monkeypatch, approved, workspace, capsys, "stage", "promote",
                   "--env", "production")
    assert code == 0 and "skipped" not in out, out
    assert ledger.history(SERVICE, "production")[0].approver == "carol"
    git(repo.root, "pull", "-q", "origin", "main")
    assert overlays.pinned(repo.root, "production", pipeline) == built.good
    assert ledger.is_verified(SERVICE, "production", built.good)

    # An older build approved late: its digest is no longer what staging runs.
    code, out = sh(monkeypatch, approved, workspace, capsys, "stage", "promote",
                   "--env", "production", "--digest", built.good2)
    assert code == 0 and "skipped: superseded" in out, out
    git(repo.root, "pull", "-q", "origin", "main")
    assert overlays.pinned(repo.root, "production", pipeline) == built.good

    # conveyor status shows the Jenkins run, its stages and the build's link.
    jenkins.finish(JOB, 1, "SUCCESS")
    assert cli.main(["status", "--json", "--repo", str(repo.root)]) == 0
    run = json.loads(capsys.readouterr().out)["services"][SERVICE]["last_pipeline"]
    assert run["run_id"] == builds.run_id(trigger_id)
    assert run["executor"] == "jenkins" and run["status"] == "passed"
    assert run["url"] == jenkins.job_url(JOB) + "1/"
    assert [s["stage"] for s in run["stages"]] == [
        *STAGES, "promote test", "promote staging", "promote production"]
    assert {s["status"] for s in run["stages"]} == {"passed"}
