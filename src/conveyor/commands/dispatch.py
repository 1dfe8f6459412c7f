"""`conveyor dispatch [--central BARE] [--once]` and `conveyor reconcile [--central BARE]`."""

from __future__ import annotations

import argparse

from conveyor.commands._common import add_bare_option, add_json_option, central_outbox, print_json
from conveyor.intake import dispatch, hook, reconcile
from conveyor.intake.outbox import Outbox


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dispatch", help="deliver pending triggers to the executor")
    add_bare_option(parser)
    parser.add_argument("--once", action="store_true", help="one pass, no waiting for retries")
    add_json_option(parser)
    parser.set_defaults(func=run_dispatch)
    parser = sub.add_parser("reconcile", help="queue branch heads a crash kept out of the outbox")
    add_bare_option(parser)
    add_json_option(parser)
    parser.set_defaults(func=run_reconcile)


def run_dispatch(args: argparse.Namespace) -> int:
    bare = central_outbox(args)
    code = dispatch.run(bare, once=args.once)
    if args.json:
        with Outbox(bare) as outbox:
            rows = outbox.rows(None)
        states = [row.state for row in rows]
        print_json({"repository": str(bare), "exit_code": code,
                    **{state: states.count(state) for state in ("pending", "delivered",
                                                                "failed")}})
    return code


def run_reconcile(args: argparse.Namespace) -> int:
    bare = central_outbox(args)
    lost = reconcile.reconcile(bare)
    if lost or reconcile.has_work(bare):  # also pushes a crashed hook left undelivered
        hook.start_dispatcher(bare)
    if args.json:
        print_json({"repository": str(bare), "queued": [
            {"ref": update.ref_text, "revision": update.new} for update in lost]})
        return 0
    for update in lost:
        print(f"queued {update.ref_text} {update.new[:12]} (no outbox record)")
    if not lost:
        print("nothing lost")
    return 0
