"""`conveyor metrics`: push-to-production lead time and build avoidance, from the records."""

from __future__ import annotations

import argparse
from contextlib import closing

from conveyor.commands import _common
from conveyor.records import db, metrics


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("metrics", help="show delivery metrics: lead time, build avoidance")
    _common.add_env_option(parser, required=False, aliases=("--environment",),
                           help="the environment lead time is measured to (default: the last, "
                           "e.g. production)")
    _common.add_json_option(parser)
    _common.add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with closing(db.connect()) as conn:
        data = metrics.compute(conn, args.environment or _last_environment(args))
    if args.json:
        _common.print_json(data)
    else:
        print(metrics.format_text(data))
    return 0


def _last_environment(args: argparse.Namespace) -> str:
    return _common.load_config(args).settings.environments[-1].name
