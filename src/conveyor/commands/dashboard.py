"""`conveyor dashboard`: serve the status page on a loopback address."""

from __future__ import annotations

import argparse
from typing import Any

from conveyor.commands import _common
from conveyor.config import loader
from conveyor.promotion import status
from conveyor.records import db
from conveyor.web import dashboard


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dashboard", help="serve a read-only status page (services, pipelines, evidence, trends)"
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    _common.add_central_option(parser)
    _common.add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    host = dashboard.check_loopback(args.host)
    root = _common.repo_root(args)
    central = _common.central_url(args)

    def collect() -> dict[str, Any]:  # config re-read each time: the page follows edits
        result: dict[str, Any] = status.collect(loader.load_dir(root), central)
        return result

    dashboard.serve(dashboard.create_app(collect, db.connect), host, args.port)
    return 0
