"""`conveyor demo`: the whole flow on this machine, and `--clean` to remove it."""

from __future__ import annotations

import argparse

from conveyor import demo
from conveyor.commands._common import add_repo_option, repo_root


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo", help="push this monorepo to a local central repository and drive it to production",
        description="Start the registry, make the base image, create a central bare repository "
        "with Conveyor's hooks, push the monorepo's committed HEAD and follow both services "
        "through build, unit, integration, performance, test, staging and (approved) production; "
        "then push a one-line gateway change and show that only gateway is rebuilt. State lives "
        "under $CONVEYOR_HOME (default ~/.local/state/conveyor).")
    parser.add_argument("--clean", action="store_true",
                        help="remove everything the demo made (containers, registry, state)")
    parser.add_argument("--no-dashboard", action="store_true",
                        help="do not start the dashboard at the end")
    add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    source = repo_root(args)
    if args.clean:
        demo.clean(source)
    else:
        demo.up(source, dashboard=not args.no_dashboard)
    return 0
