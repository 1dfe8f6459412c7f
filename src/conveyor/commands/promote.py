"""`conveyor promote SERVICE --to ENV (--digest D | --from ENV)`."""

from __future__ import annotations

import argparse
import os

from conveyor.commands._common import add_repo_option, load_config, repo_root
from conveyor.errors import Refusal
from conveyor.git import central
from conveyor.promotion import promote as promotion
from conveyor.promotion import resume


def add_central_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--central", default=None, metavar="PATH_OR_URL",
                        help="the central repository (default: origin of the monorepo checkout)")


def central_url(args: argparse.Namespace) -> str:
    return str(args.central) if args.central else central.default_url(repo_root(args))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("promote", help="promote an image digest into an environment")
    parser.add_argument("service")
    parser.add_argument("--to", required=True, metavar="ENV", dest="environment")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--resume", action="store_true",
                        help="finish (or abandon, if never published) a promotion a crash "
                        "interrupted")
    source.add_argument("--digest", help="sha256:<64 hex> of the image")
    source.add_argument("--from", dest="from_env", metavar="ENV",
                        help="promote what ENV pins now")
    parser.add_argument("--approve", action="store_true",
                        help="approve as yourself (environments that need an approval)")
    parser.add_argument("--approver", metavar="NAME",
                        help="the approver's identity (e.g. from a Jenkins input step)")
    parser.add_argument("--override", action="store_true",
                        help="skip the previous environment (needs --reason; recorded)")
    parser.add_argument("--reason", help="why the override is needed")
    parser.add_argument("--wait", action="store_true",
                        help="wait for a promotion in progress instead of failing")
    add_central_option(parser)
    add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if args.resume:
        resume.resume(config, args.service, args.environment, central_url=central_url(args))
        return 0
    actor = promotion.actor_name()
    approver = args.approver or os.environ.get("CONVEYOR_APPROVER") or (
        actor if args.approve else None)
    if args.override and not (args.reason and args.reason.strip()):
        raise Refusal("--override needs --reason TEXT")
    outcome = promotion.promote(
        config, args.service, args.environment, central_url=central_url(args),
        digest=args.digest, from_env=args.from_env, actor=actor, approver=approver,
        override_reason=args.reason if args.override else None, wait=args.wait)
    if outcome.timings:
        figures = ", ".join(f"{k} {v:.2f}s" for k, v in outcome.timings.items())
        print(f"{outcome.service} → {outcome.environment}: {outcome.status} ({figures})")
    return 0
