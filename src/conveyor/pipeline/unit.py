"""Stage `unit`: the Dockerfile's `unit` target (sharing the image's cached layers), run with
a reports directory mounted at /reports and JUNIT_XML=/reports/unit.xml."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import docker.errors
import requests

from conveyor import state
from conveyor.errors import ConveyorError
from conveyor.images import builder as images
from conveyor.images import containers, engine
from conveyor.pipeline import reports
from conveyor.pipeline.context import StageContext, StageResult

TARGET = "unit"
TIMEOUT = 900.0


def run(ctx: StageContext) -> StageResult:
    image = ctx.image()
    tag = images.build_target(ctx.config, ctx.repo, ctx.revision, ctx.service, TARGET,
                              ctx.progress)
    junit = ctx.report("unit.xml")
    junit.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=state.subdir("tmp"), prefix="unit-") as scratch:
        Path(scratch).chmod(0o777)  # the tests may run as the image's non-root user
        code, output = _run_container(ctx, tag, Path(scratch))
        produced = Path(scratch) / "unit.xml"
        if produced.is_file():
            shutil.copyfile(produced, junit)
    log = reports.write_text(ctx.report("unit.log"), output)
    for line in output.splitlines()[-40:]:
        ctx.progress(line)
    if not junit.is_file():
        return StageResult("unit", False, image.digest,
                           f"the unit target wrote no JUnit XML at $JUNIT_XML (exit {code})",
                           {"exit_code": code}, (str(log),))
    summary = reports.junit_summary(junit)
    passed = code == 0 and summary.ok
    return StageResult("unit", passed, image.digest, f"unit: {summary} (exit {code})",
                       {**summary.figures(), "exit_code": code}, (str(junit), str(log)))


def _run_container(ctx: StageContext, tag: str, scratch: Path) -> tuple[int, str]:
    labels = ctx.session_labels("unit")
    name = f"conveyor-unit-{ctx.service}-{containers.free_port()}"
    try:
        container = engine.client().containers.run(
            tag, name=name, detach=True, network_mode="none", labels=labels,
            environment={"JUNIT_XML": "/reports/unit.xml"},
            volumes={str(scratch): {"bind": "/reports", "mode": "rw"}},
        )
        try:
            status = container.wait(timeout=TIMEOUT)
            code = int(status.get("StatusCode", 1))
        except requests.RequestException:
            ctx.progress(f"unit: no result after {TIMEOUT:g}s, stopping the tests")
            code = 124
        output: bytes = container.logs()
        return code, output.decode("utf-8", "replace")
    except docker.errors.APIError as exc:
        raise ConveyorError(f"unit: docker could not run {tag}: {exc.explanation}") from None
    finally:
        containers.remove_labelled({"conveyor.session": labels["conveyor.session"]})
