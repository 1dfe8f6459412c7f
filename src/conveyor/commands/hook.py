"""`conveyor hook install BARE` and `conveyor hook post-receive|pre-receive` (what shims run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from conveyor.intake import hook
from conveyor.intake import install as hook_install


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("hook", help="install or run the server-side git hooks")
    actions = parser.add_subparsers(dest="hook_command", metavar="ACTION", required=True)
    install = actions.add_parser("install", help="install the hooks into a bare repository")
    install.add_argument("repo", type=Path, help="path to the bare repository (…/x.git)")
    install.set_defaults(func=run_install)
    for name in ("post-receive", "pre-receive"):
        runner = actions.add_parser(name, help=f"run the {name} hook (stdin: ref updates)")
        runner.set_defaults(func=run_hook, hook_name=name)


def run_install(args: argparse.Namespace) -> int:
    for line in hook_install.install(args.repo):
        print(line)
    return 0


def run_hook(args: argparse.Namespace) -> int:
    # The same entry as the shims: one deadline for every wait, and the watchdog.
    return hook.main([args.hook_name])
