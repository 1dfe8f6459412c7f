"""`conveyor promote SERVICE --env ENV (--digest D | --from ENV | --resume) [--json]`."""

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
from conveyor.errors import Refusal
from conveyor.promotion import identity, resume
from conveyor.promotion import promote as promotion


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("promote", help="promote an image digest into an environment")
    parser.add_argument("service")
    add_env_option(parser, aliases=("--to",), help="the environment to promote into")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--resume", action="store_true",
                        help="finish (or abandon, if never published) a promotion a crash "
                        "interrupted")
    source.add_argument("--digest", help="sha256:<64 hex> of the image")
    source.add_argument("--from", dest="from_env", metavar="ENV",
                        help="promote what ENV pins now")
    parser.add_argument("--approve", action="store_true",
                        help="approve as yourself, the operating-system account running this "
                        "(must be among the environment's approvers)")
    # A declared name is not an identity: refused with a pointer to what is (docs/platform.md).
    parser.add_argument("--approver", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--override", action="store_true",
                        help="skip the previous environment (needs --reason; recorded)")
    parser.add_argument("--reason", help="why the override is needed")
    parser.add_argument("--wait", action="store_true",
                        help="wait for a promotion in progress instead of failing")
    add_central_option(parser)
    add_repo_option(parser)
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if args.resume:
        resumed = resume.resume(config, args.service, args.environment,
                                central_url=central_url(args), progress=progress_printer(args))
        if args.json:
            print_json(resumed)
        return 0
    if args.approver:
        raise Refusal("--approver NAME is not accepted: an approval is given by who runs the "
                      "command (--approve) or by the Jenkins input step's authenticated user")
    actor = identity.current()  # the OS account; CONVEYOR_ACTOR and the like are ignored
    approver = actor if args.approve else None
    if args.override and not (args.reason and args.reason.strip()):
        raise Refusal("--override needs --reason TEXT")
    outcome = promotion.promote(
        config, args.service, args.environment, central_url=central_url(args),
        digest=args.digest, from_env=args.from_env, actor=actor, approver=approver,
        override_reason=args.reason if args.override else None, wait=args.wait,
        progress=progress_printer(args))
    if args.json:
        print_json(outcome)
    elif outcome.timings:
        figures = ", ".join(f"{k} {v:.2f}s" for k, v in outcome.timings.items())
        print(f"{outcome.service} → {outcome.environment}: {outcome.status} ({figures})")
    return 0
