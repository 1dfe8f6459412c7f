"""The Jenkinsfile: declarative only, compiles under CPS, the local executor's stages.

Pipeline compiles every script method with its CPS transformer, which rejects a spread call
(workflow-cps CpsTransformer.java); declarative runs a stage's `input` before it enters the
stage's agent (pipeline-model-definition ModelInterpreter.groovy, stageInput around
inDeclarativeAgent). Lint cannot see either, so these are checked here.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from conveyor.config.stages import STAGES
from tests.support.fake_jenkins import DEFAULT_PLUGINS, PROVIDED_BY, declared

from .conftest import REPO

JENKINSFILE = REPO / "Jenkinsfile"
LINT = REPO / ".conveyor-tools" / "node_modules" / ".bin" / "npm-groovy-lint"
PROMOTIONS = ("promote test", "promote staging", "promote production")


def text() -> str:
    return JENKINSFILE.read_text(encoding="utf-8")


def code() -> str:
    """The Jenkinsfile without comments."""
    return "\n".join(line.split("//", 1)[0] for line in text().splitlines())


def stage_block(name: str) -> str:
    start = code().index(f"stage('{name}')")
    depth, opened = 0, False
    for index in range(start, len(code())):
        char = code()[index]
        if char == "{":
            depth, opened = depth + 1, True
        elif char == "}":
            depth -= 1
            if opened and depth == 0:
                return code()[start:index + 1]
    raise AssertionError(f"stage {name} is not closed")


def test_declarative_only_nothing_decides_in_groovy() -> None:
    source = code()
    assert source.strip().startswith("pipeline {") and source.strip().endswith("}")
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "''", source)
    assert not re.search(r"\*\.", unquoted), "spread operator: CPS cannot compile it"
    assert not re.search(r"^\s*(def|void|boolean|String|List|Map|int)\s+\w+\s*\(", source,
                         re.MULTILINE), "method definitions"
    for forbidden in ("expression", "script {", "script{", "@NonCPS", "synchronized",
                      " if ", "if (", "? ", ".each", ".collect", ".any", "tokenize",
                      "parameters {", "timestamps()", "withCredentials",
                      "disableConcurrentBuilds"):
        assert forbidden not in source, forbidden


def test_the_build_compiles_and_needs_only_documented_plugins() -> None:
    found = declared(text(), DEFAULT_PLUGINS)
    assert found.problems == ()
    assert found.parameters == ()  # the synced job owns every parameter
    docs = (REPO / "docs" / "jenkins.md").read_text(encoding="utf-8")
    used = {plugin for step, plugin in PROVIDED_BY.items()
            if re.search(rf"^\s*{step}\b\s*[({{]", code(), re.MULTILINE)}
    assert used >= {"pipeline-input-step", "pipeline-milestone-step", "junit"}
    for plugin in used | {"git", "cloudbees-folder", "pipeline-model-definition"}:
        assert f"`{plugin}`" in docs, plugin


def test_stages_are_the_local_executors_stage_list_then_promotions() -> None:
    names = re.findall(r"\bstage\('([^']+)'\)", code())
    assert names[0] == "pipeline"
    assert tuple(names[1:]) == (*STAGES, *PROMOTIONS)
    assert tuple(re.findall(r"sh 'conveyor stage ([a-z]+)'", code())) == STAGES
    assert re.findall(r"sh 'conveyor stage promote --env (\w+)'", code()) == [
        "test", "staging", "production"]


def test_shell_steps_are_single_quoted_so_groovy_interpolates_nothing() -> None:
    steps = re.findall(r"^\s*sh\b\s*\(?\s*(\S)", code(), re.MULTILINE)
    assert len(steps) == len(STAGES) + 3 and set(steps) == {"'"}


def test_the_approval_holds_no_executor_and_can_be_overtaken() -> None:
    assert re.search(r"pipeline \{\s*agent none", code())
    production = stage_block("promote production")
    # input is answered before the stage's agent is entered (ModelInterpreter.stageInput)
    assert "input {" in production and "agent {" in production
    assert "beforeInput true" in production
    assert "environment name: 'ASK_APPROVAL', value: 'yes'" in production
    assert "submitterParameter 'APPROVER'" in production
    assert 'submitter "${params.APPROVERS}"' in production
    # the milestone comes after the approval: a newer approved build aborts older waiters
    assert production.index("milestone(") > production.index("input {")
    pipeline_stage = stage_block("pipeline")
    assert "input" not in pipeline_stage and "milestone" not in pipeline_stage


def test_jenkinsfile_passes_npm_groovy_lint() -> None:
    if not LINT.exists():
        pytest.fail(f"npm-groovy-lint is not installed at {LINT}: run scripts/install.sh "
                    "(it installs npm-groovy-lint 15 there)")
    result = subprocess.run(
        [str(LINT), "--noserver", "--failon", "warning", "--output", "txt", str(JENKINSFILE)],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
