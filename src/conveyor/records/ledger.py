"""Promotion records and freezes (db tables `promotions` and `freezes`).

A promotion row is inserted when the change is about to be published and moves through
phases: started → committed (only after the push succeeded) → deployed → verified, or ends
as failed / rolled-back with `failure`, one line saying why. Nothing else in a row is ever
changed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from conveyor.records import db

PHASES = ("started", "committed", "deployed", "verified", "failed", "rolled-back", "abandoned")
UNFINISHED = ("started", "committed", "deployed")
FAILED = ("failed", "rolled-back")
FAILURE_LENGTH = 300


@dataclass(frozen=True)
class Promotion:
    id: int
    service: str
    environment: str
    digest: str
    previous_digest: str | None
    revision: str | None
    commit_id: str | None
    phase: str
    rollback: bool
    actor: str
    approver: str | None
    reason: str | None
    started_at: float
    finished_at: float | None
    failure: str | None = None  # failed / rolled-back: why, one line


def _row(row: sqlite3.Row) -> Promotion:
    return Promotion(**{**dict(row), "rollback": bool(row["rollback"])})


def start(*, service: str, environment: str, digest: str, previous: str | None,
          revision: str | None, actor: str, approver: str | None = None,
          reason: str | None = None, rollback: bool = False) -> int:
    with db.connect() as conn:
        cursor = conn.execute(
            "INSERT INTO promotions (service, environment, digest, previous_digest, revision,"
            " phase, rollback, actor, approver, reason, started_at)"
            " VALUES (?,?,?,?,?,'started',?,?,?,?,?)",
            (service, environment, digest, previous, revision, int(rollback), actor, approver,
             reason, db.now()))
    return int(cursor.lastrowid or 0)


def advance(record_id: int, phase: str, *, commit_id: str | None = None,
            failure: str | BaseException | None = None) -> None:
    """Move a record to `phase`; a failed one says why (`failure`, kept to one line)."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    final = phase not in UNFINISHED
    why = one_line(failure) if failure is not None and phase in FAILED else None
    with db.connect() as conn:
        conn.execute(
            "UPDATE promotions SET phase = ?, commit_id = COALESCE(?, commit_id),"
            " failure = COALESCE(?, failure),"
            " finished_at = CASE WHEN ? THEN ? ELSE finished_at END WHERE id = ?",
            (phase, commit_id, why, int(final), db.now(), record_id))


def one_line(failure: str | BaseException) -> str:
    """A failure message as one line: its first line, and its last when it runs on (the tail
    of a test run ends with what broke)."""
    text = str(failure) or type(failure).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(failure).__name__ if isinstance(failure, BaseException) else ""
    line = lines[0] if len(lines) == 1 else f"{lines[0].rstrip(':')}: … {lines[-1]}"
    return line if len(line) <= FAILURE_LENGTH else line[:FAILURE_LENGTH - 1] + "…"


def history(service: str, environment: str | None = None) -> list[Promotion]:
    """Records of a service (optionally one environment), newest first."""
    with db.connect() as conn:
        if environment:
            rows = conn.execute("SELECT * FROM promotions WHERE service = ? AND environment = ?"
                                " ORDER BY id DESC", (service, environment)).fetchall()
        else:
            rows = conn.execute("SELECT * FROM promotions WHERE service = ? ORDER BY id DESC",
                                (service,)).fetchall()
    return [_row(r) for r in rows]


def unfinished(service: str, environment: str) -> Promotion | None:
    """The newest promotion that neither finished nor failed: a crash left it behind."""
    for record in history(service, environment):
        if record.phase in UNFINISHED:
            return record
    return None


def last_failure(service: str, environment: str) -> Promotion | None:
    """The newest attempt in this environment, when it failed; None once a later one worked.

    The restore that follows a rolled-back promotion (its previous digest put back) is a
    consequence of that failure, not a new attempt: it does not hide it.
    """
    records = history(service, environment)
    for index, record in enumerate(records):
        older = records[index + 1] if index + 1 < len(records) else None
        restore = (record.rollback and older is not None and older.phase == "rolled-back"
                   and record.previous_digest == older.digest)
        if restore or record.phase in UNFINISHED:
            continue
        return record if record.phase in FAILED else None
    return None


def is_verified(service: str, environment: str, digest: str) -> bool:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT 1 FROM promotions WHERE service = ? AND environment = ? AND digest = ?"
            " AND phase = 'verified' LIMIT 1", (service, environment, digest)).fetchone()
    return row is not None


def last_verified(service: str, environment: str, digest: str) -> Promotion | None:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT * FROM promotions WHERE service = ? AND environment = ? AND digest = ?"
            " AND phase = 'verified' ORDER BY id DESC LIMIT 1",
            (service, environment, digest)).fetchone()
    return _row(row) if row else None


def previous_good(service: str, environment: str, current: str | None) -> str | None:
    """The newest digest verified in this environment other than `current`."""
    for record in history(service, environment):
        if record.phase == "verified" and record.digest != current:
            return record.digest
    return None


def freeze(service: str, environment: str, *, reason: str, actor: str) -> None:
    with db.connect() as conn:
        conn.execute("INSERT OR REPLACE INTO freezes (service, environment, reason, actor,"
                     " frozen_at) VALUES (?,?,?,?,?)",
                     (service, environment, reason, actor, db.now()))


def unfreeze(service: str, environment: str) -> bool:
    with db.connect() as conn:
        cursor = conn.execute("DELETE FROM freezes WHERE service = ? AND environment = ?",
                              (service, environment))
    return cursor.rowcount > 0


def is_frozen(service: str, environment: str) -> bool:
    with db.connect() as conn:
        row = conn.execute("SELECT 1 FROM freezes WHERE service = ? AND environment = ?",
                           (service, environment)).fetchone()
    return row is not None


def for_digest(conn: sqlite3.Connection, digest: str) -> list[dict[str, Any]]:
    """Every promotion record of a digest, oldest first, as dicts."""
    return [dict(r) for r in conn.execute(
        "SELECT * FROM promotions WHERE digest = ? ORDER BY id", (digest,))]
