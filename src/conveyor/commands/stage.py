"""`conveyor stage build|unit|integration|performance`: one stage per call (the Jenkinsfile).

Inputs come from arguments or from the environment Jenkins sets: SERVICE, REVISION,
CONTENT_KEY, TRIGGER_ID, REF, BUILD_URL (and BUILD_TAG as the run id).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from conveyor.commands._common import add_repo_option, repo_root
from conveyor.config import model as config
from conveyor.config.stages import STAGES
from conveyor.errors import ConveyorError
from conveyor.git import plumbing as git
from conveyor.pipeline import run as pipeline_run
from conveyor.pipeline import runner as stage_runner
from conveyor.pipeline.context import StageContext


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("stage", help="run one pipeline stage for a service and revision")
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--service", help="the service (default: $SERVICE)")
    parser.add_argument("--revision", help="the commit (default: $REVISION, else HEAD)")
    parser.add_argument("--reports", type=Path,
                        help="where reports go (default: reports/<service>/ in the workspace)")
    add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = args.service or os.environ.get("SERVICE")
    if not service:
        raise ConveyorError("which service? pass --service or set SERVICE")
    root = repo_root(args)
    wanted = args.revision or os.environ.get("REVISION") or "HEAD"
    revision = git.rev_parse(root, wanted)
    if revision is None:
        raise ConveyorError(f"{root}: no commit {wanted}")
    trigger_id = os.environ.get("TRIGGER_ID")
    ctx = StageContext(
        config=config.load_commit(root, revision), repo=root, workspace=root, service=service,
        revision=revision, reports=args.reports or root / "reports" / service,
        ref=os.environ.get("REF", ""),
        run_id=os.environ.get("BUILD_TAG") or (
            pipeline_run.run_id_for(trigger_id) if trigger_id else None),
        executor_url=os.environ.get("BUILD_URL"),
        source=os.environ.get("GIT_URL"),
    )
    expected = os.environ.get("CONTENT_KEY")
    if expected and args.stage == "build" and expected != ctx.content_key():
        print(f"note: CONTENT_KEY {expected} differs from the key of {revision[:12]} "
              f"({ctx.content_key()}); building by the revision's key")
    result = stage_runner.run(ctx, args.stage)
    return 0 if result.passed else 1
