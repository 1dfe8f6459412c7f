"""The trigger outbox: one SQLite file in the bare repository, WAL, every write a transaction.

`<bare>/conveyor/outbox.sqlite` (mode 0600) holds the raw ref updates the hook received
(`ref_updates`: received → detected | failed, or `baseline` for heads that existed when the
hook was installed) and one row per trigger (`triggers`: pending → delivered | failed), keyed
by TRIGGER_ID, so a trigger written twice is stored once. Ref names are stored as BLOBs:
they round-trip byte for byte.

post-receive writes here on every push, so the module imports little (no json, pathlib,
dataclasses, contextlib, conveyor.changes or executors until needed), and a writer waits for
the lock at most `timeout` seconds (`SpoolBusy` then): the hook passes what is left of its
budget, other callers wait up to 30 s.
"""

from __future__ import annotations

import os
import time

try:  # the C module: the sqlite3 package adds datetime adapters this module never uses, and
    import _sqlite3 as sqlite3  # imports datetime and collections: milliseconds per push
except ImportError:  # pragma: no cover - a Python without it
    import sqlite3  # type: ignore[no-redef]
from collections.abc import Sequence

from conveyor.errors import ConveyorError, Refusal, Retryable
from conveyor.intake.ref_updates import RefUpdate, Value

TYPE_CHECKING = False  # not typing's: importing typing costs a push milliseconds
if TYPE_CHECKING:
    from pathlib import Path

    from conveyor.executors import Trigger
    from conveyor.intake.changes import Detection

DEFAULT_TIMEOUT_S = 30.0

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
    from pathlib import Path

    return Path(repo).resolve() / "conveyor"


def path(repo: str | os.PathLike[str]) -> Path:
    return directory(repo) / "outbox.sqlite"


class SpoolBusy(Retryable):
    """The outbox stayed locked by other writers for longer than this writer may wait."""


def _is_busy(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc))


class Received(Value):
    __slots__ = ("id", "update", "options")
    id: int
    update: RefUpdate
    options: tuple[str, ...]

    def __init__(self, id: int, update: RefUpdate, options: tuple[str, ...]) -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "update", update)
        object.__setattr__(self, "options", options)


class Row(Value):
    __slots__ = ("trigger", "state", "attempts", "next_attempt_at", "last_error", "run_id",
                 "url", "created_at")
    trigger: Trigger
    state: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    run_id: str | None
    url: str | None
    created_at: float

    def __init__(self, trigger: Trigger, state: str, attempts: int, next_attempt_at: float,
                 last_error: str | None, run_id: str | None, url: str | None,
                 created_at: float) -> None:
        for name, value in zip(self.__slots__, (trigger, state, attempts, next_attempt_at,
                                                last_error, run_id, url, created_at),
                               strict=True):
            object.__setattr__(self, name, value)


class _Transaction:
    """`with outbox.transaction() as tx`: BEGIN IMMEDIATE … COMMIT, ROLLBACK on error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise SpoolBusy(f"CI spool busy: {exc}") from None
            raise
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.conn.execute("ROLLBACK" if kind is not None else "COMMIT")


def _options_json(options: Sequence[str]) -> str:
    if not options:
        return "[]"  # the usual case, without importing json
    import json

    return json.dumps(list(options))


class Outbox:
    def __init__(self, repo: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT_S,
                 threads: bool = False) -> None:
        """`timeout`: how long a write waits for other writers (then SpoolBusy); `threads`:
        the connection may be handed to another thread (used by one at a time)."""
        self.repo = os.path.realpath(repo)
        folder = os.path.join(self.repo, "conveyor")
        try:
            try:
                os.mkdir(folder, 0o700)
            except FileExistsError:
                if not os.path.isdir(folder):
                    raise
            file = os.path.join(folder, "outbox.sqlite")
            if not os.path.exists(file):
                os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
            self.conn = sqlite3.connect(file, timeout=timeout, isolation_level=None,
                                        check_same_thread=not threads)
            self.conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            exists = "SELECT 1 FROM sqlite_master WHERE name = 'triggers'"
            if not self.conn.execute(exists).fetchone():
                with self.transaction() as tx:
                    for statement in SCHEMA.split(";"):
                        tx.execute(statement)
        except SpoolBusy:
            raise
        except sqlite3.Error as exc:
            if _is_busy(exc):
                raise SpoolBusy(f"CI spool busy ({folder}): {exc}") from None
            raise ConveyorError(f"CI spool unavailable ({folder}): {exc}") from None
        except OSError as exc:
            raise ConveyorError(f"CI spool unavailable ({folder}): {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> _Transaction:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error); SpoolBusy when the lock is not had
        in time."""
        return _Transaction(self.conn)

    # ------------------------------------------------------------ ref updates

    def receive(self, updates: Sequence[RefUpdate], options: Sequence[str] = (),
                state: str = "received") -> list[int]:
        """Record raw ref updates in one transaction; the ids, in order."""
        now, options_json = time.time(), _options_json(options)
        with self.transaction() as tx:
            return [int(tx.execute(
                "INSERT INTO ref_updates (ref, old, new, options, state, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (u.ref, u.old, u.new, options_json, state, now)).lastrowid or 0)
                for u in updates]

    def received(self) -> list[Received]:
        import json

        rows = self.conn.execute(
            "SELECT id, ref, old, new, options FROM ref_updates WHERE state = 'received' "
            "ORDER BY id").fetchall()
        return [Received(r[0], RefUpdate(r[2], r[3], bytes(r[1])), tuple(json.loads(r[4])))
                for r in rows]

    def record(self, update_id: int, detection: Detection) -> list[Trigger]:
        """Store the detection's triggers (deduplicated by TRIGGER_ID) and mark the update."""
        from conveyor.intake.changes import triggers_for

        triggers = triggers_for(detection, self.repo)
        return triggers if self.store(update_id, detection) else []

    def store(self, update_id: int, detection: Detection) -> bool:
        """What `record` does, without building Trigger objects (the hook's path); False
        when another process recorded the update first."""
        from conveyor.intake.changes import trigger_id

        now, update = time.time(), detection.update
        with self.transaction() as tx:
            state = tx.execute("SELECT state FROM ref_updates WHERE id = ?",
                               (update_id,)).fetchone()
            if state is None or state[0] != "received":
                return False  # another process recorded it first
            for order, a in enumerate(detection.affected):
                created = now + order * 1e-6  # keeps the detection's (dependency) order
                tx.execute(
                    "INSERT OR IGNORE INTO triggers (trigger_id, update_id, service, content_key,"
                    " ref, revision, reason, state, next_attempt_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                    (trigger_id(a.service, a.content_key, update.ref, update.new), update_id,
                     a.service, a.content_key, update.ref, update.new, a.reason, now, created))
            tx.execute(
                "UPDATE ref_updates SET state = 'detected', note = ?, services_total = ?, "
                "services_built = ?, detected_at = ? WHERE id = ?",
                (detection.note, detection.services_total, len(detection.affected), now,
                 update_id))
        return True

    def fail_detection(self, update_id: int, note: str) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE ref_updates SET state = 'failed', note = ?, detected_at = ? "
                       "WHERE id = ? AND state = 'received'", (note, time.time(), update_id))

    def failed_updates(self) -> list[tuple[int, bytes, str, str, float]]:
        """(id, ref, new, why, when) of the ref updates that will never build: their
        detection failed (a broken configuration), so they have no trigger rows."""
        rows = self.conn.execute(
            "SELECT id, ref, new, note, coalesce(detected_at, received_at) FROM ref_updates "
            "WHERE state = 'failed' ORDER BY id").fetchall()
        return [(int(r[0]), bytes(r[1]), str(r[2]), str(r[3]), float(r[4])) for r in rows]

    def is_known(self, ref: bytes, new: str) -> bool:
        return self.conn.execute("SELECT 1 FROM ref_updates WHERE ref = ? AND new = ? LIMIT 1",
                                 (ref, new)).fetchone() is not None

    def last_new(self, ref: bytes) -> str | None:
        row = self.conn.execute("SELECT new FROM ref_updates WHERE ref = ? ORDER BY id DESC "
                                "LIMIT 1", (ref,)).fetchone()
        return str(row[0]) if row else None

    # ------------------------------------------------------------ triggers

    def _rows(self, where: str, args: Sequence[object] = ()) -> list[Row]:
        from conveyor.executors import Trigger

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
            raise Refusal(f"no trigger {trigger_id_!r} in {path(self.repo)}")
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
