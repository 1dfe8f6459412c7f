"""Acceptance checks against a deployed environment: the service's integration tests.

The tests run in the image's test target (`pipeline.tests_in_image`, where their
dependencies are, so a plain install of Conveyor can verify) as they were at the image's
source revision (a rollback to an older digest is checked by the tests it was built with; the
promoted checkout's head when the revision is unknown), with `{self.address}` and
`{<service>.address}` in `integration.test_env` resolved to the environment's addresses. The
outcome is also recorded as evidence `verify:<env>`.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from conveyor.config.model import Config, Pipeline
from conveyor.errors import ConfigError, ConveyorError, Retryable
from conveyor.git import plumbing as git
from conveyor.pipeline import tests_in_image
from conveyor.promotion import deploy
from conveyor.records import evidence
from conveyor.util.progress import Progress

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9-]*)\.address\}")


def test_env(config: Config, environment: str, pipeline: Pipeline) -> dict[str, str]:
    def resolve(match: re.Match[str]) -> str:
        name = pipeline.name if match.group(1) == "self" else match.group(1)
        if name not in config.pipelines:
            raise ConfigError(f"{pipeline.file}: integration.test_env: unknown service {name!r}")
        return deploy.address(config, environment, name)

    return {k: PLACEHOLDER.sub(resolve, v) for k, v in pipeline.integration.test_env.items()}


def run(config: Config, environment: str, pipeline: Pipeline, checkout: Path, *,
        digest: str, revision: str | None, progress: Progress = print) -> None:
    """Run the acceptance checks; raise ConveyorError (with the tail of the output) if any fail."""
    known = bool(revision) and git.object_exists(checkout, revision or "")
    source = revision if known and revision else git.output(checkout, "rev-parse", "HEAD")
    tests = pipeline.integration.tests
    if not git.run(checkout, "cat-file", "-e", f"{source}:{tests.rstrip('/')}", check=False).ok:
        raise ConfigError(f"{pipeline.file}: integration.tests {tests!r} does not exist at "
                          f"{source[:12]}")
    env = {**test_env(config, environment, pipeline), "CONVEYOR_ENV": environment}
    with tempfile.TemporaryDirectory(prefix="conveyor-verify-") as folder:
        try:
            outcome = tests_in_image.run(
                config, checkout, source, pipeline.name, tests=tests, env=env,
                junit=Path(folder) / "verify.xml",
                labels={"conveyor.stage": f"verify-{environment}"},
                timeout=pipeline.integration.timeout, progress=progress)
            passed, output = outcome.exit_code == 0, outcome.output
        except Retryable as exc:
            passed, output = False, str(exc)
    evidence.record(evidence.Evidence(
        service=pipeline.name, digest=digest, stage=f"verify:{environment}",
        result="passed" if passed else "failed", revision=revision or "",
        figures={"environment": environment}))
    if not passed:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise ConveyorError(f"verification of {pipeline.name} in {environment} failed:\n{tail}")
