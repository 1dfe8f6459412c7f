"""The records database: versioned schema, migrations from older files, closed connections."""

from __future__ import annotations

import gc
import sqlite3
import warnings
from pathlib import Path

import pytest

from conveyor.records import builds, db, ledger, pushes, runs

# The schema as released before it was versioned (user_version 0): what older installs hold.
RELEASED_SCHEMA = "\n".join(statement + ";" for statement in db.MIGRATIONS[0])


def old_database(file: Path, script: str, *rows: str) -> None:
    """A database as an earlier Conveyor left it: its schema script, then `rows`."""
    old = sqlite3.connect(file)
    old.executescript(script)
    for statement in rows:
        old.execute(statement)
    old.commit()
    old.close()


def tables(conn: sqlite3.Connection, kind: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = ?", (kind,))
            if not r[0].startswith("sqlite_")}


def test_a_new_database_gets_every_step_and_the_latest_version() -> None:
    with db.connect() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == db.VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert {"builds", "evidence", "runs", "stage_runs", "promotions", "freezes",
                "pushes"} <= tables(conn, "table")
        assert {"runs_by_service", "pushes_by_revision"} <= tables(conn, "index")
    assert db.path().stat().st_mode & 0o777 == 0o600


def test_a_database_of_the_unversioned_schema_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    file = tmp_path / "conveyor.db"
    old_database(file, RELEASED_SCHEMA,
                 "INSERT INTO runs (run_id, service, revision, executor, status, started_at)"
                 " VALUES ('r1', 'gateway', 'abc', 'local', 'passed', 1.0)",
                 "INSERT INTO pushes (ref, new, services_total, services_built, pushed_at)"
                 " VALUES ('refs/heads/main', 'abc', 2, 1, 1.0)")

    with db.connect(file) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == db.VERSION
        assert "runs_by_revision" in tables(conn, "index")
        assert conn.execute("SELECT service FROM runs").fetchone()["service"] == "gateway"
        assert conn.execute("SELECT count(*) FROM pushes").fetchone()[0] == 1
    with db.connect(file) as again:  # nothing left to do the second time
        assert db.migrate(again) == db.VERSION


def test_a_failing_step_leaves_the_database_at_its_old_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "conveyor.db"
    with db.connect(file):
        pass
    monkeypatch.setattr(db, "MIGRATIONS", (*db.MIGRATIONS, ("CREATE TABLE extra (x)",
                                                            "NOT SQL AT ALL")))
    monkeypatch.setattr(db, "VERSION", len(db.MIGRATIONS))
    with pytest.raises(sqlite3.OperationalError):
        db.connect(file)
    check = sqlite3.connect(file)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == db.VERSION - 1
        assert "extra" not in tables(check, "table")  # the whole step rolled back
    finally:
        check.close()


def test_leaving_the_with_block_closes_the_connection() -> None:
    with db.connect() as conn:
        conn.execute("SELECT 1")
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        conn.execute("SELECT 1")


def test_a_transaction_lands_whole_or_not_at_all() -> None:
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO freezes VALUES ('gateway', 'production', 'r', 'me', 1.0)")
        raise RuntimeError("crash between two statements")
    assert not ledger.is_frozen("gateway", "production")


def test_the_named_functions_leave_no_connection_open() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        runs.queue_local("r1", "gateway", "abc", url="/tmp/r1")
        runs.set_status("r1", "running")
        runs.record_stage("r1", "build", True, 1.0, "/tmp/r1/build.log", "sha256:" + "a" * 64)
        builds.record(service="gateway", content_key="k", digest="sha256:" + "a" * 64,
                      repository="127.0.0.1:5000/gateway", revision="abc")
        pushes.record("refs/heads/main", "abc", 2, 1)
        assert runs.latest("gateway", "abc")["digest"] == "sha256:" + "a" * 64  # type: ignore[index]
        assert [s["stage"] for s in runs.stages("r1")] == ["build"]
        assert builds.revision_of("sha256:" + "a" * 64) == "abc"
        gc.collect()  # an unclosed connection warns when it is collected


def test_the_first_push_creates_the_database(conveyor_home: Path) -> None:
    assert not (conveyor_home / "conveyor.db").exists()
    pushes.record("refs/heads/main", "abc", 3, 1)
    pushes.record("refs/heads/main", "def", 3, 0)  # the light path: the file exists now
    with db.connect() as conn:
        assert [tuple(r) for r in conn.execute(
            "SELECT new, services_total, services_built FROM pushes ORDER BY id")] == [
            ("abc", 3, 1), ("def", 3, 0)]


def test_a_version_2_database_keys_builds_by_registry_and_keeps_its_rows(tmp_path: Path) -> None:
    """Issue 12 #3: before version 3 one row per (service, content key): a build of the same
    key for another registry was not stored, and its stages looked up the first registry's."""
    file = tmp_path / "conveyor.db"
    old_database(file, "\n".join(s + ";" for step in db.MIGRATIONS[:2] for s in step),
                 "PRAGMA user_version = 2",
                 "INSERT INTO builds VALUES ('gateway', 'k', 'sha256:aa', 'reg-a:5000/gw',"
                 " 'r1', 1.0)",
                 "INSERT INTO promotions (service, environment, digest, phase, actor,"
                 " started_at) VALUES ('gateway', 'test', 'sha256:aa', 'failed', 'me', 1.0)")

    with db.connect(file) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == db.VERSION
        assert "builds_by_digest" in tables(conn, "index")
        conn.execute("INSERT INTO builds VALUES ('gateway', 'k', 'sha256:bb', 'reg-b:5000/gw',"
                     " 'r1', 2.0)")
        rows = [tuple(r) for r in conn.execute(
            "SELECT repository, digest FROM builds ORDER BY repository")]
        promotion = conn.execute("SELECT phase, failure FROM promotions").fetchone()
    assert rows == [("reg-a:5000/gw", "sha256:aa"), ("reg-b:5000/gw", "sha256:bb")]
    assert tuple(promotion) == ("failed", None)


def test_build_records_of_two_registries_coexist_and_the_first_of_each_stays() -> None:
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    for repository, digest in (("reg-a:5000/gw", a), ("reg-b:5000/gw", b),
                               ("reg-a:5000/gw", b)):  # a rebuild never overwrites
        builds.record(service="gateway", content_key="k", digest=digest,
                      repository=repository, revision="r1")
    assert builds.recorded("gateway", "k", "reg-a:5000/gw")["digest"] == a  # type: ignore[index]
    assert builds.recorded("gateway", "k", "reg-b:5000/gw")["digest"] == b  # type: ignore[index]
    assert builds.recorded("gateway", "k", "reg-c:5000/gw") is None
