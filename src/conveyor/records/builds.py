"""Image builds (db table `builds`): the first image built for a service's content key in
one registry repository.

The first build of a content key in a repository is the record; a rebuild never overwrites
it. Another registry gets its own record: its digest is not this one's.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from conveyor.records import db


def record(*, service: str, content_key: str, digest: str, repository: str,
           revision: str) -> None:
    with db.connect() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO builds (service, content_key, digest, repository, revision,"
            " recorded_at) VALUES (?,?,?,?,?,?)",
            (service, content_key, digest, repository, revision, db.now()))


def recorded(service: str, content_key: str, repository: str) -> dict[str, Any] | None:
    """The build recorded for a service's content key in `repository`, as a dict."""
    with db.connect() as conn:
        row = conn.execute("SELECT * FROM builds WHERE service = ? AND content_key = ?"
                           " AND repository = ?", (service, content_key, repository)).fetchone()
    return dict(row) if row else None


def revision_of(digest: str) -> str | None:
    """The commit an image was built from, as this machine's build records say."""
    with db.connect() as conn:
        row = conn.execute("SELECT revision FROM builds WHERE digest = ? AND revision != ''"
                           " LIMIT 1", (digest,)).fetchone()
    return str(row["revision"]) if row else None


def for_digest(conn: sqlite3.Connection, digest: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        "SELECT * FROM builds WHERE digest = ? ORDER BY recorded_at", (digest,))]
