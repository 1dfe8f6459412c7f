"""`conveyor registry start|stop|status`: the embedded registry of conveyor.toml."""

from __future__ import annotations

import argparse

from conveyor.commands._common import add_json_option, add_repo_option, load_config, print_json
from conveyor.errors import Refusal
from conveyor.images import registry_server


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("registry", help="start, stop or show the embedded image registry")
    parser.add_argument("action", choices=("start", "stop", "status"))
    add_repo_option(parser)
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_config(args).settings
    address = settings.registry.address
    if not settings.registry.embedded:
        raise Refusal(f"the registry {address} is not embedded (registry.embedded = false); "
                      "Conveyor does not run it")
    if args.action == "start":
        srv = registry_server.start(address)
        if args.json:
            print_json({"address": srv.address, "answering": True, "directory": str(srv.data_dir)})
        else:
            print(f"registry answering on {srv.address} (data in {srv.data_dir})")
    elif args.action == "stop":
        stopped = registry_server.stop(address)
        if args.json:
            print_json({"address": address, "stopped": stopped})
        else:
            print("registry stopped" if stopped else "no registry of ours was running")
    else:
        info = registry_server.status(address)
        if args.json:
            print_json(info)
        else:
            print(f"registry {info['address']}: "
                  f"{'answering' if info['answering'] else 'not answering'}, "
                  f"pid {info['pid'] or '-'}, data in {info['directory']}")
        return 0 if info["answering"] else 1
    return 0
