"""`conveyor rollback SERVICE --env ENV [--to DIGEST]` and `conveyor unfreeze SERVICE --env ENV`."""

from __future__ import annotations

import argparse

from conveyor.commands._common import add_repo_option, load_config
from conveyor.commands.promote import add_central_option, central_url
from conveyor.promotion import rollback


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("rollback", help="go back to the previous good digest and freeze "
                            "automatic promotion")
    parser.add_argument("service")
    parser.add_argument("--env", required=True, dest="environment")
    parser.add_argument("--to", metavar="DIGEST", help="a digest once verified there")
    parser.add_argument("--wait", action="store_true",
                        help="wait for a promotion in progress instead of failing")
    add_central_option(parser)
    add_repo_option(parser)
    parser.set_defaults(func=run_rollback)

    thaw = sub.add_parser("unfreeze", help="allow automatic promotion again after a rollback")
    thaw.add_argument("service")
    thaw.add_argument("--env", required=True, dest="environment")
    add_repo_option(thaw)
    thaw.set_defaults(func=run_unfreeze)


def run_rollback(args: argparse.Namespace) -> int:
    config = load_config(args)
    rollback.rollback(config, args.service, args.environment, central_url=central_url(args),
                      to=args.to, wait=args.wait)
    return 0


def run_unfreeze(args: argparse.Namespace) -> int:
    config = load_config(args)
    if rollback.unfreeze(config, args.service, args.environment):
        print(f"{args.service} in {args.environment}: automatic promotion allowed again")
    else:
        print(f"{args.service} in {args.environment} was not frozen")
    return 0
