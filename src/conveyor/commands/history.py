"""`conveyor history SERVICE [--env ENV] [--json]`."""

from __future__ import annotations

import argparse

from conveyor.commands._common import (
    add_central_option,
    add_json_option,
    add_repo_option,
    central_url,
    load_config,
    print_json,
)
from conveyor.promotion import history


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("history", help="promotions of a service, newest first")
    parser.add_argument("service")
    parser.add_argument("--env", dest="environment")
    add_json_option(parser)
    add_central_option(parser)
    add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    entries = history.collect(load_config(args), central_url(args), args.service,
                              args.environment)
    if args.json:
        print_json(entries)
    else:
        print(history.render_table(entries))
    return 0
