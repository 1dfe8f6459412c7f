"""`conveyor status [--json]`: services × environments and each service's latest pipeline."""

from __future__ import annotations

import argparse

from .. import status
from ._common import add_json_option, add_repo_option, load_config, print_json
from .promote import add_central_option, central_url


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help="what is pinned and running in each environment")
    add_json_option(parser)
    add_central_option(parser)
    add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    data = status.collect(load_config(args), central_url(args))
    if args.json:
        print_json(data)
    else:
        print(status.render_table(data))
    return 0
