"""One received ref update → its detection stored in the outbox and one row in the records DB.

Shared by post-receive (within its budget) and the dispatcher (everything the hook left), so
it imports only what detection itself needs; the push row is written by conveyor.records.pushes,
imported lazily (it is light, and loads records.db only when the database does not exist yet).
"""

from __future__ import annotations

from conveyor.errors import ConveyorError, Retryable
from conveyor.git.oids import is_zero

TYPE_CHECKING = False  # not typing's: importing typing costs a push milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable

    from conveyor.intake.changes import Detection, Detector
    from conveyor.intake.outbox import Outbox, Received

    Warn = Callable[[str], None]


def detect(outbox: Outbox, detector: Detector, item: Received, warn: Warn,
           timeout: float = 30.0, store: Callable[[], bool] | None = None,
           failed: Warn | None = None) -> Detection | None:
    """Detect one received ref update and store its triggers; None if it could not be done
    (postponed when transient: it stays `received` for the dispatcher). `store`, asked
    before anything is written: False leaves the update as it is (None). `failed` hears
    why an update will never build (a broken configuration: file, key and error), once it
    is recorded as failed (`conveyor triggers` lists it)."""
    try:
        detection: Detection | None = detector.detect(item.update, item.options)
    except Retryable as exc:
        warn(f"detection of {item.update.ref_text} postponed: {exc}")
        detection = None
    except ConveyorError as exc:
        if store is None or store():
            outbox.fail_detection(item.id, f"not built: {exc}")
            if failed is not None:
                failed(f"{item.update.ref_text} not built: {exc}")
        return None
    if detection is None or (store is not None and not store()):
        return None
    if outbox.store(item.id, detection):  # else the hook and the dispatcher raced: one records
        record_push(detection, warn, timeout)
    return detection


def record_push(detection: Detection, warn: Warn, timeout: float = 30.0) -> None:
    """One row in the records DB per processed push, for build-avoidance metrics; waits at
    most `timeout` seconds for its lock, and never fails a trigger."""
    from conveyor.intake.changes import PROMOTION_RECORD  # loaded already: it made `detection`

    update = detection.update
    if is_zero(update.new) or detection.note == PROMOTION_RECORD:
        return  # a deletion or a promotion's own commit is not a push of code
    try:
        from conveyor.records import pushes  # os, time and _sqlite3 only: light enough here

        pushes.record(update.ref_text, update.new, detection.services_total,
                      len(detection.affected), timeout)
    except Exception as exc:  # metrics must never stop a trigger
        warn(f"could not record the push: {exc}")
