"""Where Conveyor keeps its state on this machine (registry data, records, workspaces)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """$CONVEYOR_HOME, else $XDG_STATE_HOME/conveyor, else ~/.local/state/conveyor."""
    explicit = os.environ.get("CONVEYOR_HOME")
    if explicit:
        path = Path(explicit)
    else:
        xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
        path = Path(xdg) / "conveyor"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def subdir(*parts: str) -> Path:
    path = home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def embedded_central() -> Path:
    """The central repository `conveyor demo` makes (it may not exist)."""
    explicit = os.environ.get("CONVEYOR_HOME")
    base = Path(explicit) if explicit else home()
    return base / "demo" / "central.git"
