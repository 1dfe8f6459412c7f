"""Stage `integration`: the image under test (by digest, the one the build stage recorded for
this registry) and its dependencies on 127.0.0.1; the service's integration tests run in the
image's test target (`tests_in_image`), where their dependencies are."""

from __future__ import annotations

from conveyor.errors import ConfigError
from conveyor.pipeline import reports, tests_in_image
from conveyor.pipeline import stack as service_stack
from conveyor.pipeline.context import StageContext, StageResult


def run(ctx: StageContext) -> StageResult:
    pipeline = ctx.pipeline
    tests = ctx.workspace / pipeline.integration.tests
    if not tests.is_dir():
        raise ConfigError(f"{pipeline.file}: integration.tests: {pipeline.integration.tests} "
                          "is not a directory at this revision")
    junit = ctx.report("integration.xml")
    junit.unlink(missing_ok=True)
    digest = ctx.image().digest
    with service_stack.running(ctx, "integration") as stack:
        env = stack.fill(pipeline.integration.test_env, f"{pipeline.file}: integration.test_env")
        ctx.progress(f"integration: {pipeline.integration.tests} in the image's test target")
        outcome = tests_in_image.run(
            ctx.config, ctx.repo, ctx.revision, ctx.service, tests=pipeline.integration.tests,
            env=env, junit=junit, labels=ctx.session_labels("integration"),
            timeout=pipeline.integration.timeout, progress=ctx.progress)
        code, output = outcome.exit_code, outcome.output
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
