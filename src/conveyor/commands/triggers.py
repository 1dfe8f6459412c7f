"""`conveyor triggers [--json]` lists the outbox; `conveyor triggers retry ID` replays one."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from conveyor.commands._common import add_bare_option, add_json_option, central_outbox, print_json
from conveyor.intake.outbox import Outbox, Row


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("triggers", help="pending, delivered and failed pipeline triggers")
    add_bare_option(parser)
    parser.add_argument("--state", choices=("pending", "delivered", "failed"))
    add_json_option(parser)
    parser.set_defaults(func=run_list)
    actions = parser.add_subparsers(dest="triggers_command", metavar="ACTION")
    retry = actions.add_parser("retry", help="make one trigger pending again (after a fix)")
    retry.add_argument("trigger_id", help="the trigger's id (see `conveyor triggers`)")
    retry.add_argument("--central", type=Path, default=argparse.SUPPRESS, metavar="BARE",
                       help="the central bare repository")
    retry.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print machine-readable JSON")
    retry.set_defaults(func=run_retry)


def as_json(row: Row) -> dict[str, object]:
    t = row.trigger
    return {"trigger_id": t.trigger_id, "service": t.service, "ref": t.ref_text,
            "ref_b64": t.ref_b64, "revision": t.revision, "content_key": t.content_key,
            "reason": t.reason, "state": row.state, "attempts": row.attempts,
            "next_attempt_at": row.next_attempt_at, "last_error": row.last_error,
            "run_id": row.run_id, "url": row.url, "created_at": row.created_at}


def failed_update_json(update_id: int, ref: bytes, new: str, why: str,
                       when: float) -> dict[str, object]:
    """A push that never became a trigger (its configuration is broken), listed as failed."""
    return {"trigger_id": None, "update_id": update_id, "kind": "detection", "service": None,
            "ref": ref.decode("utf-8", "backslashreplace"), "revision": new, "state": "failed",
            "last_error": why, "created_at": when}


def run_list(args: argparse.Namespace) -> int:
    with Outbox(central_outbox(args)) as outbox:
        rows = outbox.rows(args.state)
        failed = outbox.failed_updates() if args.state in (None, "failed") else []
    if args.json:
        print_json([{**as_json(r), "kind": "trigger"} for r in rows]
                   + [failed_update_json(*f) for f in failed])
        return 0
    for update_id, ref, new, why, _when in failed:  # pushes that never became triggers
        print(f"{'push ' + str(update_id):32}  {'failed':9}  {'(no service)':20} "
              f"{ref.decode('utf-8', 'backslashreplace')} {new[:12]}  {why}")
    for row in rows:
        t = row.trigger
        detail = {"delivered": f"run {row.run_id}" + (f" {row.url}" if row.url else ""),
                  "failed": f"{row.last_error}",
                  "pending": f"attempt {row.attempts}, next in "
                             f"{max(0.0, row.next_attempt_at - time.time()):.0f}s"
                             + (f" ({row.last_error})" if row.last_error else "")}[row.state]
        print(f"{t.trigger_id}  {row.state:9}  {t.service:20} {t.ref_text} "
              f"{t.revision[:12]}  {detail}")
    if not rows and not failed:
        print("no triggers")
    return 0


def run_retry(args: argparse.Namespace) -> int:
    with Outbox(central_outbox(args)) as outbox:
        row = outbox.replay(args.trigger_id)
    if args.json:
        print_json(as_json(row))
        return 0
    print(f"{row.trigger.trigger_id} is pending again; run `conveyor dispatch` to deliver it")
    return 0
