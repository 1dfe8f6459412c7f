"""`conveyor plan OLD NEW [REF]`: what a push would trigger, offline, with the executor calls."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from conveyor.commands._common import add_json_option, print_json
from conveyor.config import snapshot
from conveyor.errors import Refusal
from conveyor.executors.factory import describe_call
from conveyor.git import plumbing as git
from conveyor.intake.changes import Detector, RefUpdate, triggers_for


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plan", help="dry run: the services a push OLD..NEW would build")
    parser.add_argument("old", help="old revision (all zeroes for a created ref)")
    parser.add_argument("new", help="new revision (all zeroes for a deleted ref)")
    parser.add_argument("ref", nargs="?", default=None,
                        help="the ref pushed (default: refs/heads/<default branch>)")
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository (bare or not)")
    parser.add_argument("-o", "--push-option", action="append", default=[],
                        help="a push option, e.g. conveyor.all or conveyor.skip")
    add_json_option(parser)
    parser.set_defaults(func=run)


def _resolve(repo: Path, rev: str) -> str:
    if git.is_zero(rev):
        return git.ZERO_OID
    oid = git.rev_parse(repo, rev)
    if oid is None:
        raise Refusal(f"{rev!r} is not a commit in {repo}")
    return oid


def run(args: argparse.Namespace) -> int:
    repo = args.repo.resolve()
    old, new = _resolve(repo, args.old), _resolve(repo, args.new)
    config = None if git.is_zero(new) else snapshot.load(repo, new)
    ref = args.ref or f"refs/heads/{config.settings.default_branch if config else 'main'}"
    update = RefUpdate(old, new, os.fsencode(ref))
    with Detector(repo) as detector:
        detection = detector.detect(update, args.push_option, config)
    triggers = triggers_for(detection, str(repo))
    calls = [describe_call(config.settings, t) for t in triggers] if config else []
    if args.json:
        print_json({
            "ref": update.ref_text, "old": old, "new": new, "note": detection.note,
            "services_total": detection.services_total,
            "services": [{"service": t.service, "reason": t.reason,
                          "content_key": t.content_key, "trigger_id": t.trigger_id,
                          "call": call} for t, call in zip(triggers, calls, strict=True)],
        })
        return 0
    print(f"{update.ref_text} {old[:12]}..{new[:12]}: {len(triggers)} of "
          f"{detection.services_total} service(s) ({detection.note})")
    for trigger, call in zip(triggers, calls, strict=True):
        print(f"  {trigger.service}: {trigger.reason}")
        print(f"    content key {trigger.content_key}")
        print(f"    {call['executor']} → {call['job']}")
        for name, value in call["parameters"].items():
            print(f"      {name}={value}")
    return 0
