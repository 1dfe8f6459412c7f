"""`conveyor rollback SERVICE --env ENV [--to DIGEST]` and `conveyor unfreeze SERVICE --env ENV`."""

from __future__ import annotations

import argparse

from conveyor.commands._common import (
    add_central_option,
    add_env_option,
    add_json_option,
    add_repo_option,
    central_url,
    load_config,
    print_json,
    progress_printer,
)
from conveyor.promotion import rollback


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("rollback", help="go back to the previous good digest and freeze "
                            "automatic promotion")
    parser.add_argument("service")
    add_env_option(parser)
    parser.add_argument("--digest", metavar="DIGEST",
                        help="a digest once verified there (default: the previous good one)")
    parser.add_argument("--to", dest="digest", help=argparse.SUPPRESS)  # old name
    parser.add_argument("--wait", action="store_true",
                        help="wait for a promotion in progress instead of failing")
    add_central_option(parser)
    add_repo_option(parser)
    add_json_option(parser)
    parser.set_defaults(func=run_rollback)

    thaw = sub.add_parser("unfreeze", help="allow automatic promotion again after a rollback")
    thaw.add_argument("service")
    add_env_option(thaw)
    add_repo_option(thaw)
    add_json_option(thaw)
    thaw.set_defaults(func=run_unfreeze)


def run_rollback(args: argparse.Namespace) -> int:
    config = load_config(args)
    outcome = rollback.rollback(config, args.service, args.environment,
                                central_url=central_url(args), to=args.digest, wait=args.wait,
                                progress=progress_printer(args))
    if args.json:
        print_json(outcome)
    return 0


def run_unfreeze(args: argparse.Namespace) -> int:
    config = load_config(args)
    thawed = rollback.unfreeze(config, args.service, args.environment)
    if args.json:
        print_json({"service": args.service, "environment": args.environment,
                    "was_frozen": thawed})
    elif thawed:
        print(f"{args.service} in {args.environment}: automatic promotion allowed again")
    else:
        print(f"{args.service} in {args.environment} was not frozen")
    return 0
