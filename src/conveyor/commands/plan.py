"""`conveyor plan OLD NEW [REF]`: what a push would trigger, offline, with the executor calls.

`--config DIR` applies a configuration that is not committed (yet) to existing commits;
`--each` replays every first-parent commit of OLD..NEW as its own push: together, what a
team's last thousand commits would have built before it adopts Conveyor.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from conveyor.commands._common import add_json_option, print_json
from conveyor.config import loader, model, snapshot, sources
from conveyor.config.check import Overlay
from conveyor.errors import Refusal, UsageError
from conveyor.executors.factory import describe_call
from conveyor.git import plumbing as git
from conveyor.intake.changes import Detection, Detector, RefUpdate, triggers_for


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plan", help="dry run: the services a push OLD..NEW would build")
    parser.add_argument("old", help="old revision (all zeroes for a created ref)")
    parser.add_argument("new", help="new revision (all zeroes for a deleted ref)")
    parser.add_argument("ref", nargs="?", default=None,
                        help="the ref pushed (default: refs/heads/<default branch>)")
    parser.add_argument("--repo", type=Path, default=Path("."),
                        help="the monorepo: a checkout or the bare central repository "
                        "(default: here)")
    parser.add_argument("-o", "--push-option", action="append", default=[],
                        help="a push option, e.g. conveyor.all or conveyor.skip")
    parser.add_argument("--config", type=Path, default=None,
                        help="use conveyor.toml and pipelines/ from this directory, not "
                        "from the commits (try a configuration before committing it)")
    parser.add_argument("--each", action="store_true",
                        help="one push per first-parent commit of OLD..NEW")
    add_json_option(parser)
    parser.set_defaults(func=run)


def _resolve(repo: Path, rev: str) -> str:
    if git.is_zero(rev):
        return git.ZERO_OID
    oid = git.rev_parse(repo, rev)
    if oid is None:
        raise Refusal(f"{rev!r} is not a commit in {repo}")
    return oid


def configuration(repo: Path, new: str, config_dir: Path | None) -> model.Config | None:
    if config_dir is not None:
        if not (config_dir / "conveyor.toml").is_file():
            raise UsageError(f"{config_dir}: no conveyor.toml there")
        base = sources.CommitSource(repo, new) if not git.is_zero(new) else sources.DirectorySource(
            config_dir)
        return loader.load(Overlay(sources.DirectorySource(config_dir.resolve()), base))
    return None if git.is_zero(new) else snapshot.load(repo, new)


def pushes(repo: Path, old: str, new: str) -> list[tuple[str, str]]:
    """(parent, commit) of each first-parent commit of old..new, oldest first."""
    spec = new if git.is_zero(old) else f"{old}..{new}"
    listing = git.output(repo, "rev-list", "--first-parent", "--reverse", "--parents", spec)
    return [(parts[1] if len(parts) > 1 else git.ZERO_OID, parts[0])
            for parts in (line.split() for line in listing.splitlines() if line.strip())]


def run(args: argparse.Namespace) -> int:
    repo = args.repo.resolve()
    old, new = _resolve(repo, args.old), _resolve(repo, args.new)
    config = configuration(repo, new, args.config)
    ref = args.ref or f"refs/heads/{config.settings.default_branch if config else 'main'}"
    if args.each:
        return run_each(args, repo, old, new, ref, config)
    update = RefUpdate(old, new, os.fsencode(ref))
    with Detector(repo) as detector:
        detection = detector.detect(update, args.push_option, config,
                                    uncommitted=args.config is not None)
    config = config or (None if git.is_zero(new) else snapshot.load(repo, new))
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


def run_each(args: argparse.Namespace, repo: Path, old: str, new: str, ref: str,
             config: model.Config | None) -> int:
    results: list[tuple[str, Detection]] = []
    with Detector(repo) as detector:
        for parent, commit in pushes(repo, old, new):
            update = RefUpdate(parent, commit, os.fsencode(ref))
            results.append((commit, detector.detect(update, args.push_option, config,
                                                    uncommitted=args.config is not None)))
    if args.json:
        print_json([{"commit": commit, "parent": d.update.old, "note": d.note,
                     "services_total": d.services_total,
                     "services": [{"service": a.service, "reason": a.reason}
                                  for a in d.affected]} for commit, d in results])
        return 0
    built = 0
    for commit, d in results:
        names = ", ".join(a.service for a in d.affected)
        built += len(d.affected)
        print(f"{commit[:12]}  {len(d.affected)} of {d.services_total}"
              + (f": {names}" if names else f" ({d.note})"))
    total = sum(d.services_total for _c, d in results)
    print(f"{len(results)} push(es): {built} build(s) of {total} service-pushes")
    return 0
