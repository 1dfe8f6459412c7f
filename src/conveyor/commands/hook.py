"""`conveyor hook install BARE` and `conveyor hook post-receive|pre-receive` (what shims run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from conveyor.commands._common import add_json_option, print_json
from conveyor.intake import hook
from conveyor.intake import install as hook_install


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("hook", help="install the server-side git hooks into a bare repository")
    actions = parser.add_subparsers(dest="hook_command", metavar="ACTION", required=True)
    install = actions.add_parser("install", help="install the hooks into a bare repository")
    install.add_argument("repo", type=Path, help="path to the bare repository (…/x.git)")
    add_json_option(install)
    install.set_defaults(func=run_install)
    for name in ("post-receive", "pre-receive"):  # what the shims run: not for people
        runner = actions.add_parser(name, help=argparse.SUPPRESS)
        runner.set_defaults(func=run_hook, hook_name=name)


def run_install(args: argparse.Namespace) -> int:
    lines = hook_install.install(args.repo)
    if args.json:
        print_json({"repository": str(args.repo.resolve()), "done": list(lines)})
        return 0
    for line in lines:
        print(line)
    return 0


def run_hook(args: argparse.Namespace) -> int:
    # The same entry as the shims: one deadline for every wait, and the watchdog.
    return hook.main([args.hook_name])
