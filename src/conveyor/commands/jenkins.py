"""`conveyor jenkins sync [--dry-run] [--prune]` and `conveyor jenkins status`."""

from __future__ import annotations

import argparse

from conveyor.commands._common import add_json_option, add_repo_option, load_config, print_json
from conveyor.jenkins import builds as jenkins_status
from conveyor.jenkins import sync as jenkins_sync
from conveyor.jenkins.client import Client


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("jenkins", help="Jenkins as the pipeline engine: sync, status")
    commands = parser.add_subparsers(dest="jenkins_command", metavar="SUBCOMMAND",
                                     required=True)
    sync = commands.add_parser("sync", help="create or update the folder, one job per "
                               "service and the views, only where something changed")
    sync.add_argument("--dry-run", action="store_true", help="print what would change")
    sync.add_argument("--prune", action="store_true",
                      help="also delete the jobs of services that no longer exist")
    add_repo_option(sync)
    add_json_option(sync)
    sync.set_defaults(func=run_sync)
    status = commands.add_parser("status", help="the last Jenkins build of each service")
    add_repo_option(status)
    add_json_option(status)
    status.set_defaults(func=run_status)


def run_sync(args: argparse.Namespace) -> int:
    config = load_config(args)
    changes = jenkins_sync.sync(config, Client(config.settings), dry_run=args.dry_run,
                                prune=args.prune)
    if args.json:
        print_json({"url": config.settings.jenkins.url, "dry_run": args.dry_run,
                    "changes": [{"action": c.action, "kind": c.kind, "name": c.name}
                                for c in changes]})
        return 0
    prefix = "would " if args.dry_run else ""
    for change in changes:
        print(f"{prefix}{change.describe()}")
    if not changes:
        print(f"Jenkins is up to date ({config.settings.jenkins.url})")
    return 0


def run_status(args: argparse.Namespace) -> int:
    config = load_config(args)
    client = Client(config.settings)
    builds = {service: jenkins_status.last_build(config.settings, service, client=client)
              for service in sorted(config.pipelines)}
    if args.json:
        print_json(builds)
        return 0
    for service, build in builds.items():
        if build is None:
            print(f"{service}: no build")
        else:
            state = "building" if build["building"] else build["result"]
            print(f"{service}: #{build['number']} {state} {build['url']}")
    return 0
