"""Helpers shared by the command modules: the repository option, config, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from conveyor.config import model as config


def add_repo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=None,
                        help="the monorepo checkout (default: found from the current directory)")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def repo_root(args: argparse.Namespace) -> Path:
    return config.find_root(getattr(args, "repo", None))


def load_config(args: argparse.Namespace) -> config.Config:
    return config.load_dir(repo_root(args))


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
