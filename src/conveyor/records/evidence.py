"""What each stage proved about an image digest: appended, never edited.

Promotion reads only this (and the promotion records); nothing else counts as proof.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conveyor.errors import Refusal
from conveyor.records import db

# \Z, not $: `$` also matches before a final newline, which would let "sha256:…\n" through.
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")


def check_digest(value: str) -> str:
    """Only exact sha256 digests identify images; tags and short forms are refused."""
    if not isinstance(value, str) or not DIGEST.fullmatch(value):
        raise Refusal(f"not an image digest: {value!r} (expected sha256: and 64 lower-case hex)")
    return value


@dataclass(frozen=True)
class Evidence:
    service: str
    digest: str
    stage: str
    result: str  # passed | failed
    revision: str
    figures: Mapping[str, Any] = field(default_factory=dict)
    reports: tuple[str, ...] = ()
    run_id: str | None = None
    executor_url: str | None = None
    recorded_at: float = 0.0

    @property
    def passed(self) -> bool:
        return self.result == "passed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service, "digest": self.digest, "stage": self.stage,
            "result": self.result, "revision": self.revision, "figures": dict(self.figures),
            "reports": list(self.reports), "run_id": self.run_id,
            "executor_url": self.executor_url, "recorded_at": self.recorded_at,
        }


def record(item: Evidence) -> Evidence:
    check_digest(item.digest)
    if item.result not in ("passed", "failed"):
        raise ValueError(f"result must be passed or failed, not {item.result!r}")
    stamped = Evidence(**{**item.__dict__, "recorded_at": item.recorded_at or db.now()})
    with db.connect() as connection:
        connection.execute(
            "INSERT INTO evidence (service, digest, stage, result, figures, reports, revision,"
            " run_id, executor_url, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (stamped.service, stamped.digest, stamped.stage, stamped.result,
             json.dumps(dict(stamped.figures), sort_keys=True), json.dumps(list(stamped.reports)),
             stamped.revision, stamped.run_id, stamped.executor_url, stamped.recorded_at),
        )
    return stamped


def for_digest(digest: str) -> list[Evidence]:
    """Every record for a digest, oldest first."""
    with db.connect() as conn:
        rows = rows_for_digest(conn, check_digest(digest))
    return [_from_row(row) for row in rows]


def rows_for_digest(conn: sqlite3.Connection, digest: str) -> list[sqlite3.Row]:
    """The raw rows of a digest (figures and reports as stored JSON), oldest first."""
    return conn.execute("SELECT * FROM evidence WHERE digest = ? ORDER BY id",
                        (digest,)).fetchall()


def latest_of_stage(conn: sqlite3.Connection, stage: str, limit: int) -> list[sqlite3.Row]:
    """Per service, the newest `limit` records of a stage; oldest first within a service."""
    return conn.execute(
        "SELECT service, digest, result, figures, revision, recorded_at FROM ("
        "  SELECT *, ROW_NUMBER() OVER (PARTITION BY service ORDER BY recorded_at DESC, id DESC)"
        "  AS n FROM evidence WHERE stage = ?)"
        " WHERE n <= ? ORDER BY service, recorded_at, id", (stage, limit)
    ).fetchall()


def latest_by_stage(items: Iterable[Evidence]) -> dict[str, Evidence]:
    """The newest record of each stage: a later failure overrides an earlier pass."""
    latest: dict[str, Evidence] = {}
    for item in items:
        latest[item.stage] = item
    return latest


def passed_stages(digest: str) -> set[str]:
    return {s for s, e in latest_by_stage(for_digest(digest)).items() if e.passed}


def _from_row(row: sqlite3.Row) -> Evidence:
    return Evidence(
        service=row["service"], digest=row["digest"], stage=row["stage"], result=row["result"],
        revision=row["revision"], figures=json.loads(row["figures"]),
        reports=tuple(json.loads(row["reports"])), run_id=row["run_id"],
        executor_url=row["executor_url"], recorded_at=row["recorded_at"],
    )
