"""`conveyor converge [--env ENV]`: make environments run what their overlays pin."""

from __future__ import annotations

import argparse

from conveyor.commands._common import add_central_option, add_repo_option, central_url, load_config
from conveyor.promotion import converge, identity


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("converge", help="bring environments' running containers to what "
                            "the central repository pins (dependencies first)")
    parser.add_argument("--env", dest="environments", action="append", metavar="ENV",
                        help="only this environment (repeatable; default: all)")
    add_central_option(parser)
    add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    changes = converge.converge(config, central_url(args), environments=args.environments,
                                actor=identity.current().name)
    for change in changes:
        if change.action != "unchanged":
            print(change.line())
    redeployed = sum(c.action == "redeployed" for c in changes)
    print(f"converged: {redeployed} redeployed, "
          f"{sum(c.action == 'unchanged' for c in changes)} already as pinned")
    return 0
