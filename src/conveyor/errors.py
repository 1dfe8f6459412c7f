"""One error family. The CLI boundary turns these into one line and an exit code."""

from __future__ import annotations


class ConveyorError(Exception):
    """Something the user can understand and fix; printed without a traceback."""

    exit_code = 1


class Refusal(ConveyorError):
    """A terminal decision: bad input, policy said no, credentials revoked. Do not retry."""

    exit_code = 2


class Retryable(ConveyorError):
    """A transient failure (connection refused, 5xx, timeout); trying again later may work."""

    exit_code = 75  # EX_TEMPFAIL
