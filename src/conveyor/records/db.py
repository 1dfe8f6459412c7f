"""The records database: builds, evidence, pipeline runs, promotions, pushes.

One SQLite file under the state directory, WAL mode, every write in a transaction. Rows are
inserted, never updated, except a run's and a promotion's phase. The schema is versioned with
`PRAGMA user_version`: MIGRATIONS[i] takes a database from version i to i + 1, so a database
made by any earlier Conveyor is brought up to date on first use.

Only modules of conveyor.records hold SQL; everyone else calls their named functions.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Literal

from conveyor import state

# Version 1: the schema as first released (every table, IF NOT EXISTS: databases made before
# user_version was kept hold exactly these tables and are at version 0).
_V1 = (
    """CREATE TABLE IF NOT EXISTS builds (
    service TEXT NOT NULL,
    content_key TEXT NOT NULL,
    digest TEXT NOT NULL,             -- sha256:... from the registry manifest
    repository TEXT NOT NULL,         -- registry/repo, e.g. 127.0.0.1:5000/conveyor/gateway
    revision TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (service, content_key)
)""",
    """CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    digest TEXT NOT NULL,
    stage TEXT NOT NULL,              -- build | unit | integration | performance | verify:<env>
    result TEXT NOT NULL,             -- passed | failed
    figures TEXT NOT NULL DEFAULT '{}',   -- JSON
    reports TEXT NOT NULL DEFAULT '[]',   -- JSON list of paths
    revision TEXT NOT NULL,
    run_id TEXT,
    executor_url TEXT,
    recorded_at REAL NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS evidence_by_digest ON evidence (digest, stage)",
    """CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    revision TEXT NOT NULL,
    ref TEXT NOT NULL DEFAULT '',
    content_key TEXT NOT NULL DEFAULT '',
    trigger_id TEXT NOT NULL DEFAULT '',
    executor TEXT NOT NULL,           -- local | jenkins | command
    url TEXT,                          -- Jenkins build URL or local log directory
    status TEXT NOT NULL,             -- queued | running | passed | failed
    digest TEXT,
    started_at REAL NOT NULL,
    finished_at REAL
)""",
    """CREATE TABLE IF NOT EXISTS stage_runs (
    run_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,             -- passed | failed
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    log_path TEXT,
    PRIMARY KEY (run_id, stage)
)""",
    """CREATE TABLE IF NOT EXISTS promotions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    digest TEXT NOT NULL,
    previous_digest TEXT,
    revision TEXT,                    -- the image's source revision
    commit_id TEXT,                   -- the overlay commit in the central repository
    -- started | committed | deployed | verified | failed | rolled-back
    phase TEXT NOT NULL,
    rollback INTEGER NOT NULL DEFAULT 0,
    actor TEXT NOT NULL,
    approver TEXT,
    reason TEXT,
    started_at REAL NOT NULL,
    finished_at REAL
)""",
    "CREATE INDEX IF NOT EXISTS promotions_by_env ON promotions (service, environment, id)",
    """CREATE TABLE IF NOT EXISTS freezes (
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    frozen_at REAL NOT NULL,
    PRIMARY KEY (service, environment)
)""",
    """CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref TEXT NOT NULL,
    new TEXT NOT NULL,
    services_total INTEGER NOT NULL,
    services_built INTEGER NOT NULL,
    pushed_at REAL NOT NULL
)""",
)
# Version 2: indexes for the lookups status, the demo and lead time make on every call.
_V2 = (
    "CREATE INDEX IF NOT EXISTS runs_by_service ON runs (service, started_at)",
    "CREATE INDEX IF NOT EXISTS runs_by_revision ON runs (revision)",
    "CREATE INDEX IF NOT EXISTS pushes_by_revision ON pushes (new)",
    "CREATE INDEX IF NOT EXISTS builds_by_digest ON builds (digest)",
)
# Version 3: a build is recorded per registry repository too (issue 12 #3): the same content
# key built for two registries has two digests, and each registry's stages test their own.
# SQLite cannot change a primary key in place: copy into the new table, keep every row.
_V3 = (
    """CREATE TABLE builds_v3 (
    service TEXT NOT NULL,
    content_key TEXT NOT NULL,
    digest TEXT NOT NULL,
    repository TEXT NOT NULL,
    revision TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (service, content_key, repository)
)""",
    "INSERT INTO builds_v3 (service, content_key, digest, repository, revision, recorded_at)"
    " SELECT service, content_key, digest, repository, revision, recorded_at FROM builds",
    "DROP TABLE builds",
    "ALTER TABLE builds_v3 RENAME TO builds",
    "CREATE INDEX IF NOT EXISTS builds_by_digest ON builds (digest)",
)
# Version 4: why a promotion failed, in one line, so `status` and the demo can say it.
_V4 = ("ALTER TABLE promotions ADD COLUMN failure TEXT",)
# Append only: a released step is never edited, a change is a new step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4)
VERSION = len(MIGRATIONS)


class Connection(sqlite3.Connection):
    """A connection whose `with` block also closes it (sqlite3's own only commits), so no
    caller leaks a file descriptor: `with db.connect() as conn: ...`."""

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> Literal[False]:
        try:
            super().__exit__(kind, value, traceback)  # commit, or roll back on an exception
        finally:
            self.close()
        return False


def path() -> Path:
    return state.home() / "conveyor.db"


def connect(db_path: Path | None = None) -> Connection:
    """Open the records database, created or migrated on first use; rows are sqlite3.Row.
    Use it in a `with` block: leaving the block commits (or rolls back) and closes."""
    target = db_path or path()
    conn = sqlite3.connect(target, timeout=30, isolation_level=None, factory=Connection)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=FULL")
        if conn.execute("PRAGMA user_version").fetchone()[0] < VERSION:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent: set once, with the schema
            migrate(conn)
            target.chmod(0o600)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the missing MIGRATIONS in one write transaction; the version reached.

    BEGIN IMMEDIATE takes the write lock before the version is read again, so two processes
    opening a new database at once do not both run a step.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        if version < VERSION:
            conn.execute(f"PRAGMA user_version = {VERSION:d}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return max(version, VERSION)


@contextlib.contextmanager
def transaction(db_path: Path | None = None) -> Iterator[Connection]:
    """A connection inside one write transaction (BEGIN IMMEDIATE): several statements land
    together or not at all; committed and closed when the block ends."""
    with connect(db_path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        yield conn


def now() -> float:
    return time.time()
