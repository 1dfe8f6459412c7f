"""Stage `integration`: the image under test (by digest) and its dependencies on 127.0.0.1,
the service's integration tests run from the workspace with the host's pytest."""

from __future__ import annotations

import os
import sys

from conveyor.errors import ConveyorError
from conveyor.pipeline import reports
from conveyor.pipeline import stack as service_stack
from conveyor.pipeline.context import StageContext, StageResult
from conveyor.util import proc


def run(ctx: StageContext) -> StageResult:
    pipeline = ctx.pipeline
    tests = ctx.workspace / pipeline.integration.tests
    if not tests.is_dir():
        raise ConveyorError(f"{pipeline.file}: integration.tests: {pipeline.integration.tests} "
                            "is not a directory at this revision")
    junit = ctx.report("integration.xml")
    junit.unlink(missing_ok=True)
    digest = ctx.image().digest
    with service_stack.running(ctx, "integration") as stack:
        env = {**os.environ, **stack.fill(pipeline.integration.test_env,
                                          f"{pipeline.file}: integration.test_env")}
        ctx.progress(f"integration: pytest {pipeline.integration.tests}")
        argv = [sys.executable, "-m", "pytest", str(tests), f"--junitxml={junit}", "-q",
                "-p", "no:cacheprovider", "--rootdir", str(ctx.workspace)]
        try:
            result = proc.run(argv, cwd=ctx.workspace, env=env, check=False,
                              timeout=pipeline.integration.timeout)
            code, output = result.returncode, result.text() + result.stderr.decode(
                "utf-8", "replace")
        except ConveyorError as exc:  # timed out
            code, output = 124, str(exc)
        log = reports.write_text(ctx.report("integration.log"), output)
        for line in output.splitlines()[-40:]:
            ctx.progress(line)
        summary = reports.junit_summary(junit) if junit.is_file() else None
        passed = code == 0 and summary is not None and summary.ok
        kept = [] if passed else service_stack.keep_logs(ctx, "integration")
    paths = tuple(str(p) for p in (junit, log, *kept) if p.is_file())
    figures = {**(summary.figures() if summary else {}), "exit_code": code,
               "dependencies": dict(stack.digests)}
    text = f"integration: {summary or 'no JUnit XML'} (exit {code})"
    return StageResult("integration", passed, digest, text, figures, paths)
