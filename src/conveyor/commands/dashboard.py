"""`conveyor dashboard`: serve the status page on a loopback address."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

from .. import dashboard, db
from ..errors import ConveyorError
from . import _common


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dashboard", help="serve a read-only status page (services, pipelines, evidence, trends)"
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    parser.add_argument("--central", type=Path, default=None,
                        help="the central bare repository (default: the configured one)")
    _common.add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    host = dashboard.check_loopback(args.host)
    root = _common.repo_root(args)
    status = _status_module()

    def collect() -> dict[str, Any]:
        from .. import config

        result: dict[str, Any] = status.collect(config.load_dir(root), args.central)
        return result

    dashboard.serve(dashboard.create_app(collect, db.connect), host, args.port)
    return 0


def _status_module() -> Any:
    try:
        return importlib.import_module("conveyor.status")
    except ModuleNotFoundError as exc:
        if exc.name != "conveyor.status":
            raise
        raise ConveyorError("the status collector (conveyor.status) is not available in this "
                            "version") from None
