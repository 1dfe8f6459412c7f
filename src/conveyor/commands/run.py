"""`conveyor run SERVICE [--revision R]`: the whole pipeline on this machine (local executor)."""

from __future__ import annotations

import argparse
from pathlib import Path

from conveyor.config import model as config
from conveyor.pipeline import run as pipeline_run
from conveyor.promotion import automatic


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "run", help="run a service's pipeline locally, from a committed revision",
        description="Exit codes: 0 passed; " + ", ".join(
            f"{code} {stage} failed" for stage, code in pipeline_run.EXIT_CODES.items())
        + f"; {pipeline_run.PROMOTION_FAILED} automatic promotion failed.")
    parser.add_argument("service")
    parser.add_argument("--revision", help="the commit to run (default: HEAD)")
    parser.add_argument("--repo", type=Path, default=None,
                        help="the git repository, bare or not (default: the monorepo here)")
    parser.add_argument("--trigger-id", help="the trigger this run delivers (dispatcher)")
    parser.add_argument("--ref", help="the ref that was pushed (dispatcher)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    repo = args.repo.resolve() if args.repo else config.find_root()
    return pipeline_run.run(repo, args.service, args.revision, trigger_id=args.trigger_id,
                            ref=args.ref, out=lambda line: print(line, flush=True),
                            after=automatic.after_pipeline)
