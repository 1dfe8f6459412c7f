"""`conveyor dispatch [--central BARE] [--once]` and `conveyor reconcile [--central BARE]`."""

from __future__ import annotations

import argparse

from conveyor.commands._common import add_bare_option, central_bare
from conveyor.intake import dispatch, hook, reconcile


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dispatch", help="deliver pending triggers to the executor")
    add_bare_option(parser)
    parser.add_argument("--once", action="store_true", help="one pass, no waiting for retries")
    parser.set_defaults(func=lambda args: dispatch.run(central_bare(args), once=args.once))
    parser = sub.add_parser("reconcile", help="queue branch heads a crash kept out of the outbox")
    add_bare_option(parser)
    parser.set_defaults(func=run_reconcile)


def run_reconcile(args: argparse.Namespace) -> int:
    bare = central_bare(args)
    lost = reconcile.reconcile(bare)
    for update in lost:
        print(f"queued {update.ref_text} {update.new[:12]} (no outbox record)")
    if lost:
        hook.start_dispatcher(bare)
    else:
        print("nothing lost")
    return 0
