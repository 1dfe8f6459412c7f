"""`conveyor run SERVICE [--revision R]`: the whole pipeline on this machine (local executor)."""

from __future__ import annotations

import argparse
from pathlib import Path

from conveyor.commands._common import add_json_option, print_json, progress_printer
from conveyor.config import loader
from conveyor.pipeline import run as pipeline_run
from conveyor.promotion import automatic
from conveyor.records import runs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "run", help="run a service's pipeline locally, from a committed revision",
        description="Exit codes: 0 passed; " + ", ".join(
            f"{code} {stage} failed" for stage, code in pipeline_run.EXIT_CODES.items())
        + f"; {pipeline_run.PROMOTION_FAILED} automatic promotion failed.")
    parser.add_argument("service")
    parser.add_argument("--revision", help="the commit to run (default: HEAD)")
    parser.add_argument("--repo", type=Path, default=None,
                        help="the monorepo (a checkout or the bare central repository; "
                        "default: found from the current directory)")
    parser.add_argument("--trigger-id", help="the trigger this run delivers (dispatcher)")
    parser.add_argument("--ref", help="the ref that was pushed (dispatcher)")
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    repo = args.repo.resolve() if args.repo else loader.find_root()
    out = progress_printer(args)
    code = pipeline_run.run(
        repo, args.service, args.revision, trigger_id=args.trigger_id, ref=args.ref, out=out,
        after=lambda config, **facts: automatic.after_pipeline(config, progress=out, **facts))
    if args.json:
        latest = runs.latest(args.service)
        print_json({"exit_code": code, "run": latest, "stages": runs.stages(latest["run_id"])
                    if latest else []})
    return code
