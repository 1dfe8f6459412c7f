"""Pipeline runs and their stages (db tables `runs` and `stage_runs`).

A run is queued, then running, then passed or failed; each stage it ran is one `stage_runs`
row. Local runs, Jenkins runs and the Jenkinsfile's `conveyor stage` calls all write here.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from conveyor.records import db

FINISHED = ("passed", "failed")


def _stage_status(passed: bool) -> str:
    return "passed" if passed else "failed"


# Local runs ------------------------------------------------------------------------------

def queue_local(run_id: str, service: str, revision: str, *, url: str, ref: str = "",
                content_key: str = "", trigger_id: str = "") -> bool:
    """Record a queued local run; False when that run id is already recorded (idempotent)."""
    with db.connect() as conn:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO runs (run_id, service, revision, ref, content_key, trigger_id,"
            " executor, url, status, started_at) VALUES (?,?,?,?,?,?,'local',?,'queued',?)",
            (run_id, service, revision, ref, content_key, trigger_id, url, db.now()))
    return cursor.rowcount == 1


def forget_queued(run_id: str) -> None:
    """Drop a queued run that never started."""
    with db.connect() as conn:
        conn.execute("DELETE FROM runs WHERE run_id = ? AND status = 'queued'", (run_id,))


def status(run_id: str) -> str | None:
    with db.connect() as conn:
        row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return str(row["status"]) if row else None


def set_status(run_id: str, value: str, *, finished: bool = False) -> None:
    with db.connect() as conn:
        if finished:
            conn.execute("UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?",
                         (value, db.now(), run_id))
        else:
            conn.execute("UPDATE runs SET status = ? WHERE run_id = ?", (value, run_id))


def record_stage(run_id: str, stage: str, passed: bool, started: float, log_path: str,
                 digest: str | None) -> None:
    """A local run's stage, and the digest it has so far, in one transaction."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO stage_runs (run_id, stage, status, started_at, finished_at,"
            " log_path) VALUES (?,?,?,?,?,?)",
            (run_id, stage, _stage_status(passed), started, db.now(), log_path))
        if digest:
            conn.execute("UPDATE runs SET digest = ? WHERE run_id = ?", (digest, run_id))


def queued_local() -> list[tuple[str, str, float]]:
    """(run id, service, queued at) of every queued local run, oldest first."""
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT run_id, service, started_at FROM runs WHERE status = 'queued' AND executor ="
            " 'local' ORDER BY started_at, rowid").fetchall()
    return [(r["run_id"], r["service"], r["started_at"]) for r in rows]


# Jenkins runs ----------------------------------------------------------------------------

def record_jenkins(run_id: str, *, service: str, revision: str, ref: str, content_key: str,
                   trigger_id: str, url: str | None, value: str) -> None:
    """Insert or update a Jenkins run: its URL once known; a finished status stays."""
    with db.connect() as conn:
        conn.execute(
            "INSERT INTO runs (run_id, service, revision, ref, content_key, trigger_id,"
            " executor, url, status, started_at) VALUES (?, ?, ?, ?, ?, ?, 'jenkins', ?, ?, ?)"
            " ON CONFLICT(run_id) DO UPDATE SET url = COALESCE(excluded.url, runs.url),"
            " status = CASE WHEN runs.status IN ('passed', 'failed') THEN runs.status"
            " ELSE excluded.status END",
            (run_id, service, revision, ref, content_key, trigger_id, url, value, db.now()))


def record_jenkins_stage(run_id: str, *, trigger_id: str, service: str, revision: str, ref: str,
                         stage: str, passed: bool, started: float, build_url: str | None,
                         digest: str | None = None) -> None:
    """A stage run by the Jenkinsfile under its run (created if this machine has not seen the
    trigger); a failed stage fails the run. One transaction."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO runs (run_id, service, revision, ref, trigger_id,"
            " executor, url, status, started_at) VALUES (?, ?, ?, ?, ?, 'jenkins', ?,"
            " 'running', ?)", (run_id, service, revision, ref, trigger_id, build_url, started))
        conn.execute(
            "UPDATE runs SET url = COALESCE(?, url), digest = COALESCE(?, digest),"
            " status = CASE WHEN ? THEN status ELSE 'failed' END WHERE run_id = ?",
            (build_url, digest, passed, run_id))
        conn.execute(
            "INSERT OR REPLACE INTO stage_runs (run_id, stage, status, started_at,"
            " finished_at, log_path) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, stage, _stage_status(passed), started, db.now(),
             f"{build_url}console" if build_url else None))


def update_jenkins(trigger_id: str, url: str, value: str) -> None:
    """Follow-up of a known Jenkins run: its build URL and status (finished_at when done)."""
    with db.connect() as conn:
        conn.execute(
            "UPDATE runs SET url = ?, status = ?, finished_at = CASE WHEN ? IN "
            "('passed', 'failed') THEN COALESCE(finished_at, ?) ELSE NULL END "
            "WHERE executor = 'jenkins' AND trigger_id = ?",
            (url, value, value, db.now(), trigger_id))


# Reading ---------------------------------------------------------------------------------

def latest(service: str, revision: str | None = None) -> dict[str, Any] | None:
    """The newest run of a service (at `revision` when given), as a dict."""
    with db.connect() as conn:
        if revision is None:
            row = conn.execute("SELECT * FROM runs WHERE service = ? ORDER BY started_at DESC"
                               " LIMIT 1", (service,)).fetchone()
        else:
            row = conn.execute("SELECT * FROM runs WHERE service = ? AND revision = ? ORDER BY"
                               " started_at DESC LIMIT 1", (service, revision)).fetchone()
    return dict(row) if row else None


def stages(run_id: str, conn: sqlite3.Connection | None = None) -> list[dict[str, Any]]:
    """The stages of a run in the order they ran."""
    if conn is None:
        with db.connect() as own:
            return stages(run_id, own)
    rows = conn.execute("SELECT stage, status, started_at, finished_at, log_path FROM stage_runs"
                        " WHERE run_id = ? ORDER BY started_at, rowid", (run_id,)).fetchall()
    return [dict(r) for r in rows]


def recent(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """The latest runs of every service, newest first."""
    rows = conn.execute(
        "SELECT run_id, service, revision, ref, executor, url, status, digest, started_at,"
        " finished_at FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?", (limit,)
    ).fetchall()
    return [dict(r) for r in rows]


def for_digest(conn: sqlite3.Connection, digest: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        "SELECT * FROM runs WHERE digest = ? ORDER BY started_at", (digest,))]
