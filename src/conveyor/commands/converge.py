"""`conveyor converge [--env ENV] [--json]`: make environments run what their overlays pin."""

from __future__ import annotations

import argparse

from conveyor.commands._common import (
    add_central_option,
    add_json_option,
    add_repo_option,
    central_url,
    load_config,
    print_json,
    progress_printer,
)
from conveyor.promotion import converge, identity


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("converge", help="bring environments' running containers to what "
                            "the central repository pins (dependencies first)")
    parser.add_argument("--env", dest="environments", action="append", metavar="ENV",
                        help="only this environment (repeatable; default: all)")
    add_json_option(parser)
    add_central_option(parser)
    add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    try:
        changes = converge.converge(config, central_url(args), environments=args.environments,
                                    actor=identity.current().name,
                                    progress=progress_printer(args))
    except converge.ConvergenceFailed as failed:
        _report(args, failed.changes)
        raise  # exit 1 with the one line naming what could not be brought back
    _report(args, changes)
    return 0


def _report(args: argparse.Namespace, changes: list[converge.Change]) -> None:
    """What changed: every service and environment with --json, else what was not as pinned."""
    if args.json:
        print_json({"changes": [c.as_dict() for c in changes],
                    "changed": sum(c.action == "redeployed" for c in changes)})
        return
    for change in changes:
        if change.action != "unchanged":
            print(change.line())
    print(f"converged: {sum(c.action == 'redeployed' for c in changes)} redeployed, "
          f"{sum(c.action == 'failed' for c in changes)} failed, "
          f"{sum(c.action == 'unchanged' for c in changes)} already as pinned")
