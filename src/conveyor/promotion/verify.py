"""Acceptance checks against a deployed environment: the service's integration tests.

The tests run with this interpreter (`sys.executable -m pytest`) as they were at the image's
source revision (so a rollback to an older digest is checked by the tests it was built with;
the promoted checkout when the revision is unknown), with `{self.address}` and
`{<service>.address}` in `integration.test_env` resolved to the environment's addresses. The
outcome is also recorded as evidence `verify:<env>`.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from conveyor.config.model import Config, Pipeline
from conveyor.errors import ConfigError, ConveyorError, Retryable
from conveyor.git import plumbing as git
from conveyor.git import workspace
from conveyor.promotion import deploy
from conveyor.records import evidence
from conveyor.util import proc

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9-]*)\.address\}")


def test_env(config: Config, environment: str, pipeline: Pipeline) -> dict[str, str]:
    def resolve(match: re.Match[str]) -> str:
        name = pipeline.name if match.group(1) == "self" else match.group(1)
        if name not in config.pipelines:
            raise ConfigError(f"{pipeline.file}: integration.test_env: unknown service {name!r}")
        return deploy.address(config, environment, name)

    return {k: PLACEHOLDER.sub(resolve, v) for k, v in pipeline.integration.test_env.items()}


def run(config: Config, environment: str, pipeline: Pipeline, checkout: Path, *,
        digest: str, revision: str | None) -> None:
    """Run the acceptance checks; raise ConveyorError (with the tail of the output) if any fail."""
    if revision and git.object_exists(checkout, revision):
        with tempfile.TemporaryDirectory(prefix="conveyor-verify-") as folder:
            tree = workspace.make(checkout, revision, Path(folder) / "tree")
            _run(config, environment, pipeline, tree, digest=digest, revision=revision)
    else:
        _run(config, environment, pipeline, checkout, digest=digest, revision=revision)


def _run(config: Config, environment: str, pipeline: Pipeline, checkout: Path, *,
         digest: str, revision: str | None) -> None:
    tests = checkout / pipeline.integration.tests
    if not tests.is_dir():
        raise ConfigError(f"{pipeline.file}: integration.tests {pipeline.integration.tests!r} "
                            "does not exist in the central repository")
    env: Mapping[str, str] = {**os.environ, **test_env(config, environment, pipeline),
                              "CONVEYOR_ENV": environment, "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    try:
        result = proc.run(argv, cwd=checkout, env=env, timeout=pipeline.integration.timeout,
                          check=False)
        passed = result.ok
        output = (result.stdout + result.stderr).decode("utf-8", "replace")
    except Retryable as exc:
        passed, output = False, str(exc)
    evidence.record(evidence.Evidence(
        service=pipeline.name, digest=digest, stage=f"verify:{environment}",
        result="passed" if passed else "failed", revision=revision or "",
        figures={"environment": environment}))
    if not passed:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise ConveyorError(f"verification of {pipeline.name} in {environment} failed:\n{tail}")
