"""`conveyor`: parse arguments, dispatch to a command, turn errors into one line and an exit code.

Each command lives in `conveyor.commands.<name>` and exposes `register(subparsers)`, which
sets `func` (taking the parsed arguments, returning an exit code). The work itself is in the
core modules, so tests call those directly.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from conveyor.errors import ConveyorError
from conveyor.util.redact import RedactingFilter, redact

# One line per command module; each module registers one or more subcommands.
COMMAND_MODULES = (
    "version",
    "base",
    "demo",
    "plan",
    "hook",
    "dispatch",
    "triggers",
    "dashboard",
    "metrics",
    "promote",
    "rollback",
    "status",
    "history",
    "stage",
    "run",
    "evidence",
    "registry",
    "jenkins",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conveyor",
        description="Push to git; the services you touched are built once, tested for real "
        "and promoted by digest through test, staging and production.",
    )
    parser.add_argument("--debug", action="store_true", help="log every step (secrets masked)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"conveyor.commands.{name}").register(sub)
    return parser


def configure_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for noisy in ("urllib3", "docker"):
        logging.getLogger(noisy).setLevel(logging.INFO if debug else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.debug)
    try:
        code: int = args.func(args)
        return code
    except ConveyorError as exc:
        print(f"conveyor: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("conveyor: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
