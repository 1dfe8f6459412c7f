"""`conveyor stage …` as the Jenkinsfile calls it (inputs from the environment) and
`conveyor evidence DIGEST`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conveyor import cli
from conveyor.records import evidence

from .conftest import git

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("no_containers_left")]


def test_stages_read_jenkins_environment_and_record_the_build_url(
        monorepo: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    head = git(monorepo, "rev-parse", "HEAD")
    monkeypatch.chdir(monorepo)
    monkeypatch.setenv("SERVICE", "names")
    monkeypatch.setenv("REVISION", head)
    monkeypatch.setenv("BUILD_URL", "http://127.0.0.1:8080/job/conveyor/job/names/7/")
    monkeypatch.setenv("BUILD_TAG", "jenkins-conveyor-names-7")

    assert cli.main(["stage", "build"]) == 0
    assert cli.main(["stage", "unit", "--reports", str(monorepo / "out")]) == 0
    assert (monorepo / "out" / "unit.xml").is_file()

    digest = _digest_of(capsys.readouterr().out)
    # The Jenkinsfile's promotion stages read the digest the build stage wrote.
    assert (monorepo / "reports" / "names" / "digest").read_text().strip() == digest
    records = evidence.for_digest(digest)
    assert {e.stage for e in records} == {"build", "unit"}
    assert all(e.executor_url and e.executor_url.endswith("/names/7/") for e in records)
    assert all(e.run_id == "jenkins-conveyor-names-7" and e.revision == head for e in records)

    assert cli.main(["evidence", records[0].digest, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [item["stage"] for item in printed] == ["build", "unit"]
    assert cli.main(["evidence", "names:latest"]) == 2  # tags are refused


def _digest_of(output: str) -> str:
    for word in output.split():
        if "@sha256:" in word:
            return word.split("@", 1)[1].rstrip(":")
    raise AssertionError(f"no digest in {output!r}")
