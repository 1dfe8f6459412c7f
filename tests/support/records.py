"""Reading the records database in tests: one query, its connection closed."""

from __future__ import annotations

import sqlite3
from typing import Any

from conveyor.records import db


def rows(sql: str, *params: Any) -> list[sqlite3.Row]:
    with db.connect() as conn:
        return conn.execute(sql, params).fetchall()
