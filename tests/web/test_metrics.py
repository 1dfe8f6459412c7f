"""Delivery metrics computed from records inserted by hand."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from conveyor.records import db, metrics

from . import scenario
from .scenario import T0, add_promotion, add_push, add_run, digest, revision


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = db.connect()
    yield connection
    connection.close()


def test_no_records_gives_empty_metrics(conn: sqlite3.Connection) -> None:
    data = metrics.compute(conn)
    assert data["lead_time"] == {}
    assert data["build_avoidance"] == {"pushes": 0, "overall": None, "last": None, "recent": []}
    text = metrics.format_text(data)
    assert "no completed promotions yet" in text
    assert "no pushes recorded yet" in text


def test_lead_time_runs_from_push_to_the_end_of_the_production_promotion(
        conn: sqlite3.Connection) -> None:
    add_push(conn, revision("a"), T0)
    add_promotion(conn, "gateway", "production", digest("a"), revision("a"), T0 + 500, T0 + 600)
    lead = metrics.compute(conn)["lead_time"]["gateway"]
    assert lead["count"] == 1
    assert lead["last_s"] == lead["median_s"] == 600
    assert lead["last"]["start_source"] == "push"


def test_the_first_push_of_a_revision_counts(conn: sqlite3.Connection) -> None:
    add_push(conn, revision("a"), T0 + 50, ref="refs/heads/feature")
    add_push(conn, revision("a"), T0)
    add_promotion(conn, "gateway", "production", digest("a"), revision("a"), T0, T0 + 100)
    assert metrics.compute(conn)["lead_time"]["gateway"]["last_s"] == 100


def test_last_and_median_over_several_promotions(conn: sqlite3.Connection) -> None:
    for n, seconds in enumerate((100, 900, 300), start=1):
        start = T0 + 10_000 * n
        add_push(conn, revision(f"r{n}"), start)
        add_promotion(conn, "gateway", "production", digest(f"g{n}"), revision(f"r{n}"),
                      start + 10, start + seconds)
    lead = metrics.compute(conn)["lead_time"]["gateway"]
    assert lead["count"] == 3
    assert lead["last_s"] == 300
    assert lead["median_s"] == 300
    assert [s["seconds"] for s in lead["samples"]] == [100, 900, 300]


def test_without_a_push_the_earliest_run_of_the_revision_is_the_start(
        conn: sqlite3.Connection) -> None:
    add_run(conn, "late", "gateway", revision("a"), T0 + 100)
    add_run(conn, "early", "password-strength", revision("a"), T0 + 40)
    add_promotion(conn, "gateway", "production", digest("a"), revision("a"), T0 + 200, T0 + 340)
    lead = metrics.compute(conn)["lead_time"]["gateway"]
    assert lead["last_s"] == 300
    assert lead["last"]["start_source"] == "run"


@pytest.mark.parametrize("env, phase, rollback, revision_of, finished", [
    ("staging", "verified", 0, "a", T0 + 10),       # not production
    ("production", "failed", 0, "a", T0 + 10),      # did not complete
    ("production", "started", 0, "a", None),        # still going
    ("production", "verified", 1, "a", T0 + 10),    # a rollback is not a delivery
    ("production", "verified", 0, None, T0 + 10),   # revision unknown
    ("production", "verified", 0, "unpushed", T0 + 10),  # no push, no run
])
def test_promotions_that_do_not_count(conn: sqlite3.Connection, env: str, phase: str,
                                      rollback: int, revision_of: str | None,
                                      finished: float | None) -> None:
    add_push(conn, revision("a"), T0)
    rev = revision(revision_of) if revision_of else None
    add_promotion(conn, "gateway", env, digest("a"), rev, T0 + 5, finished, phase=phase,
                  rollback=rollback)
    assert metrics.compute(conn)["lead_time"] == {}


def test_deployed_counts_and_the_environment_is_configurable(conn: sqlite3.Connection) -> None:
    add_push(conn, revision("a"), T0)
    add_promotion(conn, "gateway", "prod", digest("a"), revision("a"), T0, T0 + 70,
                  phase="deployed")
    assert metrics.compute(conn)["lead_time"] == {}
    assert metrics.compute(conn, "prod")["lead_time"]["gateway"]["last_s"] == 70


def test_build_avoidance_per_push_and_overall(conn: sqlite3.Connection) -> None:
    add_push(conn, revision("a"), T0, total=2, built=2)
    add_push(conn, revision("b"), T0 + 1, total=4, built=1)
    add_push(conn, revision("c"), T0 + 2, total=0, built=0)  # nothing to build at all
    avoidance = metrics.compute(conn)["build_avoidance"]
    assert avoidance["pushes"] == 3
    assert [p["avoided"] for p in avoidance["recent"]] == [None, 0.75, 0.0]  # newest first
    assert avoidance["last"]["revision"] == revision("c")
    assert avoidance["overall"] == pytest.approx(3 / 6)


def test_format_text_reads_well(conn: sqlite3.Connection) -> None:
    scenario.fill(conn)
    text = metrics.format_text(metrics.compute(conn))
    assert text.splitlines() == [
        "Lead time, push to production:",
        "  gateway            last   8m 20s  median   8m 20s  (1 promotion)",
        "  password-strength  last   8m 20s  median   8m 20s  (1 promotion)",
        "Build avoidance:",
        f"  last push    50% avoided (1 of 2 services built, {revision('r3')[:12]})",
        "  all pushes   33% avoided over 3 pushes",
    ]


@pytest.mark.parametrize("seconds, text", [
    (None, "-"), (0.4, "0s"), (59, "59s"), (61, "1m 01s"), (3600 * 5 + 120, "5h 02m"),
    (86400 * 3 + 3600, "3d 01h"),
])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert metrics.format_duration(seconds) == text
