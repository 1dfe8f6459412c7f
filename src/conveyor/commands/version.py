from __future__ import annotations

import argparse

from conveyor import __version__


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("version", help="print Conveyor's version")
    parser.set_defaults(func=lambda args: print(f"conveyor {__version__}") or 0)
