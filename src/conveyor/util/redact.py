"""Mask secrets at every boundary where text leaves the process.

Over-redaction is reversible, a leaked secret is not: every value registered here is
replaced in its literal, base64 and URL-quoted forms.
"""

from __future__ import annotations

import base64
import logging
import threading
import urllib.parse

_lock = threading.Lock()
_secrets: set[str] = set()
MASK = "*****"


def register_secret(value: str | None, *, user: str | None = None) -> None:
    """Remember a secret so that `redact` masks it (and `user:secret` in base64)."""
    if not value or len(value) < 4:
        return
    forms = {value, urllib.parse.quote(value, safe=""), base64.b64encode(value.encode()).decode()}
    if user:
        forms.add(base64.b64encode(f"{user}:{value}".encode()).decode())
    with _lock:
        _secrets.update(f for f in forms if f)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that masks registered secrets in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
