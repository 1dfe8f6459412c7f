"""`conveyor metrics`: push-to-production lead time and build avoidance, from the records."""

from __future__ import annotations

import argparse
from contextlib import closing

from conveyor.commands import _common
from conveyor.records import db, metrics


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("metrics", help="show delivery metrics: lead time, build avoidance")
    parser.add_argument("--environment", default="production",
                        help="the environment lead time is measured to (default: production)")
    _common.add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with closing(db.connect()) as conn:
        data = metrics.compute(conn, args.environment)
    if args.json:
        _common.print_json(data)
    else:
        print(metrics.format_text(data))
    return 0
