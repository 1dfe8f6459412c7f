"""The records database: builds, evidence, pipeline runs, promotions. Append-only by design.

One SQLite file under the state directory, WAL mode, every write in a transaction.
Rows are inserted, never updated, except a run's and a promotion's phase.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from conveyor import state

SCHEMA = """
CREATE TABLE IF NOT EXISTS builds (
    service TEXT NOT NULL,
    content_key TEXT NOT NULL,
    digest TEXT NOT NULL,             -- sha256:... from the registry manifest
    repository TEXT NOT NULL,         -- registry/repo, e.g. 127.0.0.1:5000/conveyor/gateway
    revision TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (service, content_key)
);
CREATE TABLE IF NOT EXISTS evidence (
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
);
CREATE INDEX IF NOT EXISTS evidence_by_digest ON evidence (digest, stage);
CREATE TABLE IF NOT EXISTS runs (
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
);
CREATE TABLE IF NOT EXISTS stage_runs (
    run_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,             -- passed | failed
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    log_path TEXT,
    PRIMARY KEY (run_id, stage)
);
CREATE TABLE IF NOT EXISTS promotions (
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
);
CREATE INDEX IF NOT EXISTS promotions_by_env ON promotions (service, environment, id);
CREATE TABLE IF NOT EXISTS freezes (
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    frozen_at REAL NOT NULL,
    PRIMARY KEY (service, environment)
);
CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref TEXT NOT NULL,
    new TEXT NOT NULL,
    services_total INTEGER NOT NULL,
    services_built INTEGER NOT NULL,
    pushed_at REAL NOT NULL
);
"""


def path() -> Path:
    return state.home() / "conveyor.db"


def connect(db_path: Path | None = None) -> sqlite3.Connection:
    """Open the records database (created on first use); rows come back as sqlite3.Row."""
    target = db_path or path()
    conn = sqlite3.connect(target, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.executescript(SCHEMA)
    target.chmod(0o600)
    return conn


def now() -> float:
    return time.time()
