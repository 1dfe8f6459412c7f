"""Run one stage and record what it proved: the one code path for `conveyor stage` (Jenkins)
and `conveyor run` (the local executor)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from conveyor.config.stages import STAGES
from conveyor.errors import UsageError
from conveyor.images import builder as images
from conveyor.pipeline import integration as integration_stage
from conveyor.pipeline import performance as performance_stage
from conveyor.pipeline import unit as unit_stage
from conveyor.pipeline.context import StageContext, StageResult
from conveyor.records import evidence


def build(ctx: StageContext) -> StageResult:
    built = images.build(ctx.config, ctx.repo, ctx.revision, ctx.service, ctx.progress,
                         ctx.source)
    figures = {"content_key": built.image.content_key, "reused": built.reused,
               "seconds": round(built.seconds, 2), "reference": built.image.reference}
    verb = "reused" if built.reused else "built and pushed"
    # Later stages and the Jenkinsfile's promotion stages read the digest from here.
    digest_file = ctx.report("digest")
    digest_file.write_text(built.image.digest + "\n")
    return StageResult("build", True, built.image.digest,
                       f"build: {verb} {built.image.reference}", figures,
                       reports=(str(digest_file),))


RUNNERS: dict[str, Callable[[StageContext], StageResult]] = {
    "build": build,
    "unit": unit_stage.run,
    "integration": integration_stage.run,
    "performance": performance_stage.run,
}
assert tuple(RUNNERS) == STAGES


def run(ctx: StageContext, stage: str) -> StageResult:
    """Run `stage`; record its evidence when there is a digest to record it against.

    A stage that cannot even run (an infrastructure error) raises; a stage whose tests fail
    returns a failed result, which is recorded as failed evidence.
    """
    if stage not in RUNNERS:
        raise UsageError(f"unknown stage {stage!r} (stages: {', '.join(STAGES)})")
    ctx.progress(f"== {ctx.service}: stage {stage} at {ctx.revision[:12]}")
    with terminated_as_interrupt():
        result = RUNNERS[stage](ctx)
    if result.digest:
        evidence.record(evidence.Evidence(
            service=ctx.service, digest=result.digest, stage=stage, result=result.result,
            revision=ctx.revision, figures=dict(result.figures), reports=result.reports,
            run_id=ctx.run_id, executor_url=ctx.executor_url))
    ctx.progress(f"== {stage} {result.result.upper()}: {result.summary}")
    return result


@contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM (a Jenkins abort, a timeout) unwinds like Ctrl-C, so teardown always runs."""
    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
