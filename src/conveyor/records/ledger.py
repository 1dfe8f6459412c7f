"""Promotion records and freezes (db tables `promotions` and `freezes`).

A promotion row is inserted when the change is about to be published and moves through
phases: started → committed (only after the push succeeded) → deployed → verified, or ends
as failed / rolled-back. Nothing else in a row is ever changed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from conveyor.records import db

PHASES = ("started", "committed", "deployed", "verified", "failed", "rolled-back", "abandoned")
UNFINISHED = ("started", "committed", "deployed")


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


def advance(record_id: int, phase: str, *, commit_id: str | None = None) -> None:
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    final = phase not in UNFINISHED
    with db.connect() as conn:
        conn.execute(
            "UPDATE promotions SET phase = ?, commit_id = COALESCE(?, commit_id),"
            " finished_at = CASE WHEN ? THEN ? ELSE finished_at END WHERE id = ?",
            (phase, commit_id, int(final), db.now(), record_id))


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
