"""The dispatcher: detects queued ref updates, delivers pending triggers, one per repository.

Delivery is at-least-once, made effectively-once by the executors: a trigger is marked
delivered only after the executor accepted it, and executors are idempotent by TRIGGER_ID,
so a dispatcher killed between delivery and marking re-submits and gets the same run back.
Transient failures (`Retryable`, unexpected errors) are retried with exponential back-off
(`next_attempt_at`); terminal ones (`Refusal`) and exhausted retries are parked as failed.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

from conveyor.config import snapshot
from conveyor.config.model import Settings
from conveyor.errors import ConveyorError, Refusal
from conveyor.executors import Executor
from conveyor.git import plumbing as git
from conveyor.intake import detect as intake
from conveyor.intake.changes import Detection, Detector
from conveyor.intake.outbox import Outbox, Received, Row, directory
from conveyor.util import locks
from conveyor.util.crashpoints import crash_point

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
MAX_BACKOFF_S = 300.0
POLL_S = 1.0


def backoff(attempts: int) -> float:
    base = float(os.environ.get("CONVEYOR_RETRY_BASE_S", "2"))
    return float(min(MAX_BACKOFF_S, base * 2 ** (attempts - 1)))


# ---------------------------------------------------------------- detection


def detect(outbox: Outbox, detector: Detector, item: Received) -> Detection | None:
    """Detect one received ref update and store its triggers; None if it could not be done."""
    return intake.detect(outbox, detector, item, log.warning)


def record_push(detection: Detection) -> None:
    """One row in the records DB per processed push, for build-avoidance metrics."""
    intake.record_push(detection, log.warning)


def detect_all(repo: str | os.PathLike[str], outbox: Outbox) -> None:
    items = outbox.received()
    if not items:
        return
    with Detector(repo) as detector:
        for item in items:
            detect(outbox, detector, item)


# ---------------------------------------------------------------- delivery


class Executors:
    """The executor of the configuration on the default branch (trusted, not the push's)."""

    def __init__(self, repo: str) -> None:
        self.repo = repo
        self._cache: dict[str, Executor] = {}

    def settings(self, revision: str) -> Settings:
        pushed = snapshot.load(self.repo, revision).settings
        head = git.rev_parse(self.repo, f"refs/heads/{pushed.default_branch}")
        return snapshot.load(self.repo, head).settings if head and head != revision else pushed

    def get(self, revision: str) -> Executor:
        from conveyor.executors.factory import create

        settings = self.settings(revision)
        key = repr(settings)
        if key not in self._cache:
            self._cache[key] = create(settings, self.repo)
        return self._cache[key]


def deliver(outbox: Outbox, executors: Executors, row: Row) -> str:
    """Try one trigger once; returns its new state."""
    trigger = row.trigger
    attempts = outbox.begin_attempt(trigger.trigger_id)
    crash_point("dispatch-before-submit")
    try:
        accepted = executors.get(trigger.revision).submit(trigger)
    except Refusal as exc:
        outbox.park(trigger.trigger_id, str(exc))
        return "failed"
    except Exception as exc:  # Retryable, or anything unexpected: back off, then give up
        if attempts >= MAX_ATTEMPTS:
            outbox.park(trigger.trigger_id, f"gave up after {attempts} attempts: {exc}")
            return "failed"
        outbox.retry_later(trigger.trigger_id, str(exc), time.time() + backoff(attempts))
        return "pending"
    crash_point("dispatch-after-submit")
    outbox.delivered(trigger.trigger_id, accepted.run_id, accepted.url)
    return "delivered"


def drain(repo: str, outbox: Outbox, once: bool) -> None:
    executors = Executors(repo)
    while True:
        detect_all(repo, outbox)
        for row in outbox.due(time.time()):
            deliver(outbox, executors, row)
        if once:
            return
        if outbox.received():  # detection postponed (transient): try again shortly
            time.sleep(POLL_S)
            continue
        due = outbox.next_due()
        if due is None:
            return
        time.sleep(min(POLL_S, max(0.0, due - time.time())))


# ---------------------------------------------------------------- one per repository


def exclusive(repo: str | os.PathLike[str]) -> AbstractContextManager[bool]:
    """flock on `<bare>/conveyor/dispatch.lock`: True if this process got it (its pid is
    written there, for operators and tests)."""
    folder = directory(repo)
    folder.mkdir(mode=0o700, exist_ok=True)
    return locks.attempt(folder / "dispatch.lock")


def run(repo: str | os.PathLike[str], once: bool = False) -> int:
    """Deliver until no work remains; a second dispatcher exits quietly (0)."""
    repo = str(Path(repo).resolve())
    while True:
        with exclusive(repo) as mine:
            if not mine:
                return 0
            with Outbox(repo) as outbox:
                drain(repo, outbox, once)
        if once:
            return 0
        # A hook may have queued work while we held the lock and its dispatcher gave up.
        with Outbox(repo) as outbox:
            if not outbox.received() and outbox.next_due() is None:
                return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m conveyor.intake.dispatch [--reconcile] BARE`: what the hook starts, detached.

    --reconcile (the hook could not write its ref updates in time): first queue the heads
    the outbox has no record of, as `conveyor reconcile` does, then deliver."""
    args = sys.argv[1:] if argv is None else argv
    os.chdir("/")  # started from a hook in the bare repository: hold no directory
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args[0] == "--reconcile":
            from conveyor.intake import reconcile

            args = args[1:]
            for update in reconcile.reconcile(args[0]):
                log.info("queued %s %s (no outbox record)", update.ref_text, update.new[:12])
        return run(args[0])
    except ConveyorError as exc:
        log.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
