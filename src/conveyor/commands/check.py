"""`conveyor check [REV] [--config DIR]`: is this configuration valid for the repository?

For a pre-commit hook or a CI step: every error (unknown key with the closest valid one,
wrong type, bad value) and a warning per path that matches nothing; exit 1 on an error.
Without REV the working tree is checked; with REV the commit (and --config DIR: that
directory's conveyor.toml and pipelines/ against the commit's files).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from conveyor.commands._common import add_json_option, print_json
from conveyor.config import loader, sources
from conveyor.config.check import Overlay, check
from conveyor.errors import UsageError
from conveyor.git import plumbing as git


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("check", help="validate conveyor.toml and pipelines/*.toml "
                            "against the repository (exit 1 on an error)")
    parser.add_argument("rev", nargs="?", default=None,
                        help="a commit to check (default: the working tree)")
    parser.add_argument("--repo", type=Path, default=None,
                        help="the repository (default: found from the current directory)")
    parser.add_argument("--config", type=Path, default=None,
                        help="take conveyor.toml and pipelines/ from this directory")
    add_json_option(parser)
    parser.set_defaults(func=run)


def source(repo: Path | None, rev: str | None, config_dir: Path | None) -> sources.Source:
    if rev is None:
        root = repo.resolve() if repo else loader.find_root()
        base: sources.Source = sources.DirectorySource(root)
    else:
        where = (repo or Path(".")).resolve()
        commit = git.rev_parse(where, rev)
        if commit is None:
            raise UsageError(f"{rev!r} is not a commit in {where}")
        base = sources.CommitSource(where, commit)
    if config_dir is None:
        return base
    if not (config_dir / "conveyor.toml").is_file():
        raise UsageError(f"{config_dir}: no conveyor.toml there")
    return Overlay(sources.DirectorySource(config_dir), base)


def run(args: argparse.Namespace) -> int:
    report = check(source(args.repo, args.rev, args.config))
    services = sorted(report.config.pipelines) if report.config else []
    if args.json:
        print_json({"ok": report.ok, "errors": list(report.errors),
                    "warnings": list(report.warnings), "services": services})
    else:
        for line in report.errors:
            print(f"error: {line}")
        for line in report.warnings:
            print(f"warning: {line}")
        if report.ok:
            print(f"configuration valid: {len(services)} service(s)"
                  + (f", {len(report.warnings)} warning(s)" if report.warnings else ""))
    return 0 if report.ok else 1
