"""Executors run a service's pipeline for one trigger: local (default), jenkins, command.

The dispatcher hands each pending trigger to `executor.submit`; the trigger counts as
delivered only when that returns an `Accepted`. Executors raise `Retryable` for transient
failures (connection refused, 5xx, timeouts) and `Refusal` for terminal ones (bad
credentials, missing job, undeclared parameter); the dispatcher parks the latter.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Trigger:
    trigger_id: str  # idempotency key: hash of (service, content key, ref, new id)
    service: str
    content_key: str
    ref: bytes  # exactly as git gave it; may be non-UTF-8
    revision: str  # the pushed commit (40 hex)
    repository: str  # path or URL of the central repository
    reason: str

    @property
    def ref_text(self) -> str:
        """The ref for places that need text: exact for UTF-8, backslash-escaped otherwise."""
        return self.ref.decode("utf-8", "backslashreplace")

    @property
    def ref_b64(self) -> str:
        return base64.b64encode(self.ref).decode()

    def parameters(self) -> dict[str, str]:
        """The declared pipeline parameters every executor passes (Jenkins job parameters)."""
        return {
            "SERVICE": self.service,
            "REVISION": self.revision,
            "REF": self.ref_text,
            "CONTENT_KEY": self.content_key,
            "TRIGGER_ID": self.trigger_id,
        }


@dataclass(frozen=True)
class Accepted:
    run_id: str  # local run id, Jenkins queue item id, or the command's id
    url: str | None = None


class Executor(Protocol):
    name: str

    def submit(self, trigger: Trigger) -> Accepted:
        """Start (or find the already started) pipeline for `trigger`; idempotent by trigger id."""
        ...
