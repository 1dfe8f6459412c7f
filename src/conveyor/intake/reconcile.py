"""`conveyor reconcile`: enqueue the branch heads a crash kept out of the outbox.

A head whose id has no ref-update record (the hook was killed before its spool write) is
queued as an update from the last id the outbox knows for that ref (or as a creation), so
the dispatcher detects and triggers it like any push. `conveyor reconcile` then starts the
dispatcher when anything waits: what it queued, or what a hook killed after its spool write
left undetected or undelivered.
"""

from __future__ import annotations

import os
from pathlib import Path

from conveyor.git import plumbing as git
from conveyor.intake.changes import RefUpdate
from conveyor.intake.install import heads
from conveyor.intake.outbox import Outbox


def missing(repo: str | os.PathLike[str]) -> list[RefUpdate]:
    bare = Path(repo).resolve()
    with Outbox(bare) as outbox:
        return [RefUpdate(outbox.last_new(ref) or git.ZERO_OID, oid, ref)
                for oid, ref in heads(bare) if not outbox.is_known(ref, oid)]


def has_work(repo: str | os.PathLike[str]) -> bool:
    """Ref updates not yet detected or triggers not yet delivered: a hook that crashed after
    its spool write (before starting the dispatcher) leaves these, with nothing `missing`."""
    with Outbox(repo) as outbox:
        return outbox.has_work()


def reconcile(repo: str | os.PathLike[str]) -> list[RefUpdate]:
    """Queue what is missing; the updates queued."""
    lost = missing(repo)
    if lost:
        with Outbox(repo) as outbox:
            outbox.receive(lost)
    return lost
