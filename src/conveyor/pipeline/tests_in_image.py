"""Run a service's tests inside its image's test target, where their dependencies are.

The Dockerfile's `unit` target holds the service's tests and their runner (the unit stage
runs its CMD as is). Integration and acceptance tests use the same target with the unit
tests' folder in that CMD swapped for theirs, on the host network so they reach the
containers under test on 127.0.0.1. Conveyor's own Python never imports the tests, so a
plain `pip install` of Conveyor runs every stage.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import requests

from conveyor import state
from conveyor.config.model import Config, Pipeline
from conveyor.errors import ConfigError, ConveyorError
from conveyor.images import builder as images
from conveyor.images import containers, engine, instance
from conveyor.util.progress import Progress

TARGET = "unit"


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    output: str
    junit: Path | None  # the JUnit XML the tests wrote, copied to the caller's path


def command_for(pipeline: Pipeline, cmd: list[str], tests: str) -> list[str]:
    """The target's CMD with the unit tests' folder (its last path part) swapped for `tests`'."""
    unit, wanted = Path(pipeline.unit_tests).name, Path(tests).name
    pattern = re.compile(rf"(?<=/){re.escape(unit)}(?=$|[\s\"'/])")
    swapped = [pattern.sub(wanted, part) for part in cmd]
    if swapped == cmd and unit != wanted:
        raise ConfigError(f"{pipeline.file}: the {TARGET} target's CMD names no .../{unit} "
                          f"folder to run {tests} instead: {cmd}")
    return swapped


def run(config: Config, repo: str | os.PathLike[str], revision: str, service: str, *,
        tests: str, env: Mapping[str, str], junit: Path, labels: Mapping[str, str],
        timeout: float, progress: Progress = print) -> Outcome:
    """Build (or reuse) the test target at `revision` and run `tests` in it on the host network."""
    pipeline = config.pipeline(service)
    tag = images.build_target(config, repo, revision, service, TARGET, progress)
    cmd = list(engine.client().images.get(tag).attrs.get("Config", {}).get("Cmd") or [])
    if not cmd:
        raise ConfigError(f"{pipeline.file}: the {TARGET} target has no CMD to run tests with")
    command = command_for(pipeline, cmd, tests)
    junit.unlink(missing_ok=True)
    name = f"conveyor-{instance.instance_id()}-tests-{service}-{containers.free_port()}"
    with tempfile.TemporaryDirectory(dir=state.subdir("tmp"), prefix="tests-") as scratch:
        Path(scratch).chmod(0o777)  # the tests may run as the image's non-root user
        try:
            container = engine.client().containers.run(
                tag, command=command, name=name, detach=True, network_mode="host",
                environment={**env, "JUNIT_XML": "/reports/tests.xml"},
                volumes={scratch: {"bind": "/reports", "mode": "rw"}},
                labels={**labels, **instance.labels()})
        except docker.errors.APIError as exc:
            raise ConveyorError(f"docker could not run {tag}: {exc.explanation}") from None
        try:
            try:
                code = int(container.wait(timeout=timeout).get("StatusCode", 1))
            except requests.RequestException:
                progress(f"tests: no result after {timeout:g}s, stopping them")
                code = 124
            output = container.logs().decode("utf-8", "replace")
        finally:
            containers.remove(name)
        produced = Path(scratch) / "tests.xml"
        if produced.is_file():
            shutil.copyfile(produced, junit)
    return Outcome(code, output, junit if junit.is_file() else None)
