"""The promotion ledger: a failed attempt says why, and stays visible until one works."""

from __future__ import annotations

from conveyor.records import ledger

GOOD, BAD, NEWER = ("sha256:" + c * 64 for c in "abc")


def attempt(digest: str, phase: str, *, previous: str | None = None, failure: object = None,
            rollback: bool = False, reason: str | None = None) -> int:
    record = ledger.start(service="gateway", environment="test", digest=digest,
                          previous=previous, revision=None, actor="me", reason=reason,
                          rollback=rollback)
    ledger.advance(record, phase, failure=failure)  # type: ignore[arg-type]
    return record


def test_no_failure_when_the_newest_attempt_worked() -> None:
    assert ledger.last_failure("gateway", "test") is None
    attempt(GOOD, "verified")
    assert ledger.last_failure("gateway", "test") is None


def test_a_failed_deploy_is_the_last_failure_with_its_reason_in_one_line() -> None:
    attempt(GOOD, "verified")
    attempt(BAD, "failed", previous=GOOD, failure=RuntimeError(
        "verification of gateway in test failed:\n  collected 3 items\n\nFAILED test_x - 500\n"))
    failure = ledger.last_failure("gateway", "test")
    assert failure is not None and (failure.digest, failure.phase) == (BAD, "failed")
    assert failure.failure == "verification of gateway in test failed: … FAILED test_x - 500"

    attempt(NEWER, "verified", previous=GOOD)  # a later attempt that worked clears it
    assert ledger.last_failure("gateway", "test") is None


def test_the_restore_after_a_rolled_back_promotion_does_not_hide_it() -> None:
    attempt(GOOD, "verified")
    attempt(BAD, "rolled-back", previous=GOOD, failure="exited before it was healthy")
    attempt(GOOD, "verified", previous=BAD, rollback=True, reason=f"automatic: {BAD} failed")
    failure = ledger.last_failure("gateway", "test")
    assert failure is not None and (failure.digest, failure.phase) == (BAD, "rolled-back")
    assert failure.failure == "exited before it was healthy"
    # a rollback someone asked for is an attempt of its own
    attempt(GOOD, "verified", previous=GOOD, rollback=True, reason="bad release")
    assert ledger.last_failure("gateway", "test") is None


def test_a_reason_is_one_bounded_line_and_only_failures_keep_one() -> None:
    record = attempt(GOOD, "verified", failure="not a failure")
    assert ledger.history("gateway", "test")[0].failure is None
    assert record
    attempt(BAD, "failed", failure="x" * 1000)
    reason = ledger.history("gateway", "test")[0].failure
    assert reason is not None and len(reason) == ledger.FAILURE_LENGTH and "\n" not in reason
