"""`conveyor dispatch [--repo BARE] [--once]` and `conveyor reconcile [--repo BARE]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from conveyor.intake import dispatch, hook, reconcile


def add_bare_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=Path("."),
                        help="the central bare repository (default: the current directory)")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dispatch", help="deliver pending triggers to the executor")
    add_bare_option(parser)
    parser.add_argument("--once", action="store_true", help="one pass, no waiting for retries")
    parser.set_defaults(func=lambda args: dispatch.run(args.repo, once=args.once))
    parser = sub.add_parser("reconcile", help="queue branch heads a crash kept out of the outbox")
    add_bare_option(parser)
    parser.set_defaults(func=run_reconcile)


def run_reconcile(args: argparse.Namespace) -> int:
    lost = reconcile.reconcile(args.repo)
    for update in lost:
        print(f"queued {update.ref_text} {update.new[:12]} (no outbox record)")
    if lost:
        hook.start_dispatcher(args.repo.resolve())
    else:
        print("nothing lost")
    return 0
