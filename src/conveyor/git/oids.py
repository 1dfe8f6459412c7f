"""Object ids: the all-zero id git gives the hooks for "no object" (a ref created or deleted).

Imports nothing: the hooks' light path and git.plumbing share it.
"""

from __future__ import annotations

ZERO_OID = "0" * 40  # SHA-1; a SHA-256 repository's zero id is 64 zeros, is_zero takes both


def is_zero(oid: str) -> bool:
    """The all-zero id git uses for "no object" (creation, deletion), of either length."""
    return set(oid) == {"0"}
