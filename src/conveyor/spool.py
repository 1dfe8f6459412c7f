"""The trigger outbox: one SQLite file in the bare repository, WAL, every write a transaction.

`<bare>/conveyor/outbox.sqlite` (mode 0600) holds the raw ref updates the hook received
(`ref_updates`: received → detected | failed, or `baseline` for heads that existed when the
hook was installed) and one row per trigger (`triggers`: pending → delivered | failed), keyed
by TRIGGER_ID, so a trigger written twice is stored once. Ref names are stored as BLOBs:
they round-trip byte for byte.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .changes import Detection, RefUpdate, triggers_for
from .errors import ConveyorError
from .executors import Trigger

SCHEMA = """
CREATE TABLE IF NOT EXISTS ref_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref BLOB NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',     -- push options, JSON list
    state TEXT NOT NULL,                    -- received | detected | failed | baseline
    note TEXT NOT NULL DEFAULT '',
    services_total INTEGER,
    services_built INTEGER,
    received_at REAL NOT NULL,
    detected_at REAL
);
CREATE INDEX IF NOT EXISTS ref_updates_by_ref ON ref_updates (ref, new);
CREATE INDEX IF NOT EXISTS ref_updates_by_state ON ref_updates (state);
CREATE TABLE IF NOT EXISTS triggers (
    trigger_id TEXT PRIMARY KEY,
    update_id INTEGER NOT NULL,
    service TEXT NOT NULL,
    content_key TEXT NOT NULL,
    ref BLOB NOT NULL,
    revision TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,                    -- pending | delivered | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    run_id TEXT,
    url TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS triggers_by_state ON triggers (state, next_attempt_at);
"""


def directory(repo: str | os.PathLike[str]) -> Path:
    return Path(repo).resolve() / "conveyor"


def path(repo: str | os.PathLike[str]) -> Path:
    return directory(repo) / "outbox.sqlite"


@dataclass(frozen=True)
class Received:
    id: int
    update: RefUpdate
    options: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    trigger: Trigger
    state: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    run_id: str | None
    url: str | None
    created_at: float


class Outbox:
    def __init__(self, repo: str | os.PathLike[str]) -> None:
        self.repo = str(Path(repo).resolve())
        folder = directory(repo)
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            file = path(repo)
            if not file.exists():
                os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
            self.conn = sqlite3.connect(file, timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA busy_timeout=30000")
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            exists = "SELECT 1 FROM sqlite_master WHERE name = 'triggers'"
            if not self.conn.execute(exists).fetchone():
                with self.transaction() as tx:
                    for statement in SCHEMA.split(";"):
                        tx.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise ConveyorError(f"CI spool unavailable ({folder}): {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ------------------------------------------------------------ ref updates

    def receive(self, updates: Sequence[RefUpdate], options: Sequence[str] = (),
                state: str = "received") -> list[int]:
        """Record raw ref updates in one transaction; the ids, in order."""
        now = time.time()
        with self.transaction() as tx:
            return [int(tx.execute(
                "INSERT INTO ref_updates (ref, old, new, options, state, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (u.ref, u.old, u.new, json.dumps(list(options)), state, now)).lastrowid or 0)
                for u in updates]

    def received(self) -> list[Received]:
        rows = self.conn.execute(
            "SELECT id, ref, old, new, options FROM ref_updates WHERE state = 'received' "
            "ORDER BY id").fetchall()
        return [Received(r[0], RefUpdate(r[2], r[3], bytes(r[1])), tuple(json.loads(r[4])))
                for r in rows]

    def record(self, update_id: int, detection: Detection) -> list[Trigger]:
        """Store the detection's triggers (deduplicated by TRIGGER_ID) and mark the update."""
        now = time.time()
        triggers = triggers_for(detection, self.repo)
        with self.transaction() as tx:
            state = tx.execute("SELECT state FROM ref_updates WHERE id = ?",
                               (update_id,)).fetchone()
            if state is None or state[0] != "received":
                return []  # another process recorded it first
            for order, t in enumerate(triggers):
                created = now + order * 1e-6  # keeps the detection's (dependency) order
                tx.execute(
                    "INSERT OR IGNORE INTO triggers (trigger_id, update_id, service, content_key,"
                    " ref, revision, reason, state, next_attempt_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                    (t.trigger_id, update_id, t.service, t.content_key, t.ref, t.revision,
                     t.reason, now, created))
            tx.execute(
                "UPDATE ref_updates SET state = 'detected', note = ?, services_total = ?, "
                "services_built = ?, detected_at = ? WHERE id = ?",
                (detection.note, detection.services_total, len(triggers), now, update_id))
        return triggers

    def fail_detection(self, update_id: int, note: str) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE ref_updates SET state = 'failed', note = ?, detected_at = ? "
                       "WHERE id = ? AND state = 'received'", (note, time.time(), update_id))

    def is_known(self, ref: bytes, new: str) -> bool:
        return self.conn.execute("SELECT 1 FROM ref_updates WHERE ref = ? AND new = ? LIMIT 1",
                                 (ref, new)).fetchone() is not None

    def last_new(self, ref: bytes) -> str | None:
        row = self.conn.execute("SELECT new FROM ref_updates WHERE ref = ? ORDER BY id DESC "
                                "LIMIT 1", (ref,)).fetchone()
        return str(row[0]) if row else None

    # ------------------------------------------------------------ triggers

    def _rows(self, where: str, args: Sequence[object] = ()) -> list[Row]:
        rows = self.conn.execute(
            "SELECT trigger_id, service, content_key, ref, revision, reason, state, attempts, "
            f"next_attempt_at, last_error, run_id, url, created_at FROM triggers {where}",
            tuple(args)).fetchall()
        return [Row(Trigger(r[0], r[1], r[2], bytes(r[3]), r[4], self.repo, r[5]),
                    *r[6:]) for r in rows]

    def rows(self, state: str | None = None) -> list[Row]:
        if state:
            return self._rows("WHERE state = ? ORDER BY created_at, trigger_id", (state,))
        return self._rows("ORDER BY created_at, trigger_id")

    def get(self, trigger_id_: str) -> Row:
        rows = self._rows("WHERE trigger_id = ?", (trigger_id_,))
        if not rows:
            raise ConveyorError(f"no trigger {trigger_id_!r} in {path(self.repo)}")
        return rows[0]

    def due(self, now: float) -> list[Row]:
        return self._rows("WHERE state = 'pending' AND next_attempt_at <= ? "
                          "ORDER BY next_attempt_at, created_at", (now,))

    def next_due(self) -> float | None:
        row = self.conn.execute(
            "SELECT min(next_attempt_at) FROM triggers WHERE state = 'pending'").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def has_work(self) -> bool:
        return self.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM ref_updates WHERE state = 'received') OR "
            "EXISTS (SELECT 1 FROM triggers WHERE state = 'pending')").fetchone()[0] == 1

    def begin_attempt(self, trigger_id_: str) -> int:
        with self.transaction() as tx:
            tx.execute("UPDATE triggers SET attempts = attempts + 1 WHERE trigger_id = ?",
                       (trigger_id_,))
            return int(tx.execute("SELECT attempts FROM triggers WHERE trigger_id = ?",
                                  (trigger_id_,)).fetchone()[0])

    def delivered(self, trigger_id_: str, run_id: str, url: str | None) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE triggers SET state = 'delivered', run_id = ?, url = ?, "
                       "delivered_at = ?, last_error = NULL WHERE trigger_id = ?",
                       (run_id, url, time.time(), trigger_id_))

    def retry_later(self, trigger_id_: str, error: str, at: float) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE triggers SET last_error = ?, next_attempt_at = ? "
                       "WHERE trigger_id = ? AND state = 'pending'", (error, at, trigger_id_))

    def park(self, trigger_id_: str, error: str) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE triggers SET state = 'failed', last_error = ? "
                       "WHERE trigger_id = ?", (error, trigger_id_))

    def replay(self, trigger_id_: str) -> Row:
        """Make one trigger pending again, due now (after an operator fixed the cause)."""
        self.get(trigger_id_)
        with self.transaction() as tx:
            tx.execute("UPDATE triggers SET state = 'pending', next_attempt_at = ?, "
                       "attempts = 0 WHERE trigger_id = ?", (time.time(), trigger_id_))
        return self.get(trigger_id_)
