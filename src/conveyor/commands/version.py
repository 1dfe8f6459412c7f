"""`conveyor version [--json]` (also `conveyor --version`)."""

from __future__ import annotations

import argparse

from conveyor import __version__
from conveyor.commands._common import add_json_option, print_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("version", help="print Conveyor's version")
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.json:
        print_json({"version": __version__})
    else:
        print(f"conveyor {__version__}")
    return 0
