"""Processed pushes (db table `pushes`), for the build-avoidance and lead-time metrics.

The hook's path writes here (through intake.detect), so this module imports only os, time and
the C sqlite module: conveyor.records.db (pathlib, the state directory) is imported only when
the database does not exist yet.
"""

from __future__ import annotations

import os
import time

try:  # the C module: the sqlite3 package adds datetime adapters this module never uses, and
    import _sqlite3 as sqlite3  # imports datetime and collections: milliseconds per push
except ImportError:  # pragma: no cover - a Python without it
    import sqlite3  # type: ignore[no-redef]

INSERT = ("INSERT INTO pushes (ref, new, services_total, services_built, pushed_at) "
          "VALUES (?, ?, ?, ?, ?)")


def records_path() -> str:
    """Where conveyor.db is (db.path() without pathlib; state.home()'s rules)."""
    home = os.environ.get("CONVEYOR_HOME")
    if not home:
        xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(
            os.path.expanduser("~"), ".local", "state")
        home = os.path.join(xdg, "conveyor")
    return os.path.join(home, "conveyor.db")


def record(ref: str, new: str, services_total: int, services_built: int,
           timeout: float = 30.0) -> None:
    """One row per processed push; waits at most `timeout` seconds for the database's lock."""
    row = (ref, new, services_total, services_built, time.time())
    file = records_path()
    if os.path.exists(file):
        conn = sqlite3.connect(file, timeout=timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(INSERT, row)
            return
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
        finally:
            conn.close()
    from conveyor.records import db  # first use: created with its schema

    with db.connect() as created:
        created.execute(INSERT, row)
