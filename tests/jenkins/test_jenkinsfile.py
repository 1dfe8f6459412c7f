"""The Jenkinsfile: the same stage list as the local executor, safe shell, lint-clean."""

from __future__ import annotations

import re
import subprocess

import pytest

from conveyor.config import model as config
from conveyor.config.stages import STAGES
from conveyor.jenkins import jobs

from .conftest import REPO

JENKINSFILE = REPO / "Jenkinsfile"
LINT = REPO / ".conveyor-tools" / "node_modules" / ".bin" / "npm-groovy-lint"


def text() -> str:
    return JENKINSFILE.read_text(encoding="utf-8")


def test_stages_are_the_local_executors_stage_list() -> None:
    names = re.findall(r"\bstage\('([^']+)'\)", text())
    assert tuple(n for n in names if not n.startswith("promote ")) == STAGES
    calls = re.findall(r"sh 'conveyor stage ([a-z]+)'", text())
    assert tuple(calls) == STAGES
    assert [n for n in names if n.startswith("promote ")] == [
        "promote test", "promote staging", "promote production"]


def test_shell_steps_are_single_quoted_so_groovy_interpolates_nothing() -> None:
    steps = re.findall(r"^\s*sh\b\s*\(?\s*(\S)", text(), re.MULTILINE)
    assert len(steps) == len(STAGES) + 3 and set(steps) == {"'"}
    assert "--approve --approver \"$APPROVER\"" in text()
    assert "withCredentials" in text() and "credentialsId: params.REGISTRY_CREDENTIALS_ID" in text()
    for directive in ("timeout(", "buildDiscarder(", "timestamps()", "disableConcurrentBuilds()",
                      "junit(", "archiveArtifacts(", "submitter "):
        assert directive in text()


def test_parameters_and_defaults_match_the_synced_job() -> None:
    settings = config.load_dir(REPO).settings
    declared = dict(re.findall(r"string\(name: '(\w+)', defaultValue: '([^']*)'", text()))
    wanted = {p.name: p.default for p in jobs.parameters(settings, "any")}
    wanted["SERVICE"] = ""  # the job's default is its own service
    assert declared == wanted


def test_jenkinsfile_passes_npm_groovy_lint() -> None:
    if not LINT.exists():
        pytest.fail(f"npm-groovy-lint is not installed at {LINT}: run scripts/install.sh "
                    "(it installs npm-groovy-lint 15 there)")
    result = subprocess.run(
        [str(LINT), "--noserver", "--failon", "warning", "--output", "txt", str(JENKINSFILE)],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
