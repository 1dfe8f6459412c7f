"""`conveyor status [--json]`: services × environments and each service's latest pipeline."""

from __future__ import annotations

import argparse
import sys

from conveyor.commands._common import (
    add_central_option,
    add_json_option,
    add_repo_option,
    central_url,
    load_config,
    print_json,
)
from conveyor.promotion import status
from conveyor.records import db, metrics


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help="what is pinned and running in each environment")
    add_json_option(parser)
    parser.add_argument("--metrics", action="store_true",
                        help="add delivery metrics: push-to-production lead time per service "
                        "and build avoidance per push")
    add_central_option(parser)
    add_repo_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if config.settings.executor == "jenkins":
        from conveyor.jenkins import builds  # only teams on Jenkins pay for its client

        builds.refresh_last_builds(config, lambda line: print(f"conveyor: {line}",
                                                              file=sys.stderr))
    data = status.collect(config, central_url(args))
    figures = None
    if args.metrics:
        with db.connect() as conn:
            figures = metrics.compute(conn)
    if args.json:
        print_json({**data, "metrics": figures} if figures is not None else data)
    else:
        print(status.render_table(data))
        if figures is not None:
            print()
            print(metrics.format_text(figures))
    return 0
