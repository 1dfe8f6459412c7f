"""One received ref update → its detection stored in the outbox and one row in the records DB.

Shared by post-receive (within its budget) and the dispatcher (everything the hook left), so
it imports only what detection itself needs: conveyor.db (pathlib) is imported only when the
records database does not exist yet.
"""

from __future__ import annotations

import os
import time

try:  # the C module: the sqlite3 package adds datetime adapters this module never uses, and
    import _sqlite3 as sqlite3  # imports datetime and collections: milliseconds per push
except ImportError:  # pragma: no cover - a Python without it
    import sqlite3  # type: ignore[no-redef]

from conveyor.errors import ConveyorError, Retryable
from conveyor.intake.ref_updates import is_zero

TYPE_CHECKING = False  # not typing's: importing typing costs a push milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable

    from conveyor.intake.changes import Detection, Detector
    from conveyor.intake.outbox import Outbox, Received

    Warn = Callable[[str], None]


def detect(outbox: Outbox, detector: Detector, item: Received, warn: Warn,
           timeout: float = 30.0, store: Callable[[], bool] | None = None) -> Detection | None:
    """Detect one received ref update and store its triggers; None if it could not be done
    (postponed when transient: it stays `received` for the dispatcher). `store`, asked
    before anything is written: False leaves the update as it is (None)."""
    try:
        detection: Detection | None = detector.detect(item.update, item.options)
    except Retryable as exc:
        warn(f"detection of {item.update.ref_text} postponed: {exc}")
        detection = None
    except ConveyorError as exc:
        if store is None or store():
            outbox.fail_detection(item.id, f"detection failed: {exc}")
        return None
    if detection is None or (store is not None and not store()):
        return None
    if outbox.store(item.id, detection):  # else the hook and the dispatcher raced: one records
        record_push(detection, warn, timeout)
    return detection


def records_path() -> str:
    """Where conveyor.db is (db.path() without pathlib; state.home()'s rules)."""
    home = os.environ.get("CONVEYOR_HOME")
    if not home:
        xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(
            os.path.expanduser("~"), ".local", "state")
        home = os.path.join(xdg, "conveyor")
    return os.path.join(home, "conveyor.db")


def record_push(detection: Detection, warn: Warn, timeout: float = 30.0) -> None:
    """One row in the records DB per processed push, for build-avoidance metrics; waits at
    most `timeout` seconds for its lock, and never fails a trigger."""
    from conveyor.intake.changes import PROMOTION_RECORD  # loaded already: it made `detection`

    update = detection.update
    if is_zero(update.new) or detection.note == PROMOTION_RECORD:
        return  # a deletion or a promotion's own commit is not a push of code
    built = len(detection.affected)
    row = (update.ref_text, update.new, detection.services_total, built, time.time())
    insert = ("INSERT INTO pushes (ref, new, services_total, services_built, pushed_at) "
              "VALUES (?, ?, ?, ?, ?)")
    try:
        file = records_path()
        if os.path.exists(file):
            conn = sqlite3.connect(file, timeout=timeout, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute(insert, row)
                return
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    raise
            finally:
                conn.close()
        from conveyor.records import db  # first use: created with its schema

        conn = db.connect()
        try:
            conn.execute(insert, row)
        finally:
            conn.close()
    except Exception as exc:  # metrics must never stop a trigger
        warn(f"could not record the push: {exc}")
