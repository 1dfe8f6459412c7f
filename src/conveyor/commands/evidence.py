"""`conveyor evidence DIGEST [--json]`: what each stage proved about an image."""

from __future__ import annotations

import argparse
import time

from conveyor.commands._common import add_json_option, print_json
from conveyor.records import evidence


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("evidence", help="the stage evidence recorded for an image digest")
    parser.add_argument("digest", help="sha256:… (tags are refused)")
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    records = evidence.for_digest(args.digest)
    if args.json:
        print_json([item.as_dict() for item in records])
        return 0
    if not records:
        print(f"no evidence for {args.digest}")
        return 1
    for item in records:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item.recorded_at))
        figures = ", ".join(f"{k}={v}" for k, v in sorted(item.figures.items())
                            if not isinstance(v, dict))
        print(f"{when}  {item.service:<20} {item.stage:<12} {item.result:<7} "
              f"{item.revision[:12]}  run {item.run_id or '-'}")
        if figures:
            print(f"    {figures}")
        for path in item.reports:
            print(f"    report: {path}")
        if item.executor_url:
            print(f"    executor: {item.executor_url}")
    return 0
