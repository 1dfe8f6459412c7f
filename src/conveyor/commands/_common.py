"""Options and helpers shared by the command modules: one name for one idea on every command.

- `--repo DIR`: the monorepo (a checkout; default: found from the current directory).
- `--central PATH_OR_URL`: the central repository (default: $CONVEYOR_CENTRAL, else the
  checkout's origin, else the one `conveyor demo` made).
- `--env ENV`: an environment.
- `--json`: machine-readable output on every command that reports or changes state.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from conveyor import state
from conveyor.config import loader
from conveyor.config import model as config
from conveyor.errors import Refusal, UsageError
from conveyor.util.progress import Progress

CENTRAL_ENV = "CONVEYOR_CENTRAL"


def add_repo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=None,
                        help="the monorepo checkout (default: found from the current directory)")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_env_option(parser: argparse.ArgumentParser, *, required: bool = True,
                   aliases: tuple[str, ...] = (), help: str = "the environment") -> None:
    """`--env ENV`; `aliases` are older spellings, still accepted but not shown (either one
    satisfies `required`)."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--env", dest="environment", metavar="ENV", help=help)
    for alias in aliases:
        group.add_argument(alias, dest="environment", metavar="ENV", help=argparse.SUPPRESS)


def add_central_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--central", default=None, metavar="PATH_OR_URL",
                        help=f"the central repository (default: ${CENTRAL_ENV}, else the "
                        "checkout's origin, else the one `conveyor demo` made)")


def add_bare_option(parser: argparse.ArgumentParser) -> None:
    """The central repository as a local bare repository (its outbox lives there)."""
    parser.add_argument("--central", type=Path, default=None, metavar="BARE",
                        help="the central bare repository (default: the current directory if "
                        f"it is one, else ${CENTRAL_ENV}, else the one `conveyor demo` made)")
    parser.add_argument("--repo", type=Path, dest="central", help=argparse.SUPPRESS)  # old name


def repo_root(args: argparse.Namespace) -> Path:
    return loader.find_root(getattr(args, "repo", None))


def load_config(args: argparse.Namespace) -> config.Config:
    return loader.load_dir(repo_root(args))


def central_url(args: argparse.Namespace) -> str:
    """The central repository: --central, $CONVEYOR_CENTRAL, the checkout's origin, the
    embedded default; the user's git remotes are never changed."""
    if getattr(args, "central", None):
        return str(args.central)
    if os.environ.get(CENTRAL_ENV):
        return os.environ[CENTRAL_ENV]
    from conveyor.git import central

    root = repo_root(args)
    try:
        return central.default_url(root)
    except UsageError:  # no origin remote: the central repository the demo made, if any
        pass
    embedded = state.embedded_central()
    if embedded.is_dir():
        return str(embedded)
    raise UsageError(f"{root} has no origin remote and `conveyor demo` made no central "
                     "repository: pass --central PATH_OR_URL")


def central_bare(args: argparse.Namespace) -> Path:
    """The local bare central repository for the outbox commands."""
    chosen = args.central
    if chosen is None:
        here = Path.cwd()
        if (here / "HEAD").is_file() and (here / "objects").is_dir():
            chosen = here
        elif os.environ.get(CENTRAL_ENV):
            chosen = Path(os.environ[CENTRAL_ENV])
        else:
            chosen = state.embedded_central()
    chosen = chosen.resolve()
    if not ((chosen / "HEAD").is_file() and (chosen / "objects").is_dir()):
        raise UsageError(f"{chosen}: not a bare git repository (pass --central BARE)")
    return chosen


def progress_printer(args: argparse.Namespace) -> Progress:
    """Progress lines for people: on stdout, or on stderr when stdout carries --json."""
    stream = sys.stderr if getattr(args, "json", False) else sys.stdout
    return lambda line: print(line, file=stream, flush=True)


def central_outbox(args: argparse.Namespace) -> Path:
    """The central bare repository whose outbox exists; reading never creates one."""
    from conveyor.intake import outbox

    bare = central_bare(args)
    if not outbox.path(bare).is_file():
        raise Refusal(f"{bare}: no Conveyor outbox here (the hooks are not installed: "
                      f"conveyor hook install {bare})")
    return bare


def print_json(value: Any) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    json.dump(value, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
