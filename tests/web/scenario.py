"""A small, realistic set of records for the dashboard tests, and a status collector over them.

Two services (gateway, password-strength), three environments, a few pipelines, performance
evidence for several builds, pushes, promotions, and a drift in staging for gateway.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

ENVIRONMENTS = ("test", "staging", "production")
SERVICES = ("gateway", "password-strength")
STAGES = ("build", "unit", "integration", "performance")
T0 = 1_700_000_000.0


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def revision(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def add_push(conn: sqlite3.Connection, rev: str, at: float, total: int = 2, built: int = 1,
             ref: str = "refs/heads/main") -> None:
    conn.execute("INSERT INTO pushes (ref, new, services_total, services_built, pushed_at)"
                 " VALUES (?,?,?,?,?)", (ref, rev, total, built, at))


def add_run(conn: sqlite3.Connection, run_id: str, service: str, rev: str, at: float,
            status: str = "passed", image: str | None = None,
            stages: tuple[tuple[str, str, float], ...] | None = None) -> None:
    stages = stages if stages is not None else tuple((s, "passed", 10.0) for s in STAGES)
    elapsed = at
    for stage, result, seconds in stages:
        conn.execute("INSERT INTO stage_runs (run_id, stage, status, started_at, finished_at)"
                     " VALUES (?,?,?,?,?)", (run_id, stage, result, elapsed, elapsed + seconds))
        elapsed += seconds
    conn.execute(
        "INSERT INTO runs (run_id, service, revision, ref, executor, url, status, digest,"
        " started_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (run_id, service, rev, "refs/heads/main", "local", f"/tmp/runs/{run_id}", status, image,
         at, None if status == "running" else elapsed),
    )


def add_evidence(conn: sqlite3.Connection, service: str, image: str, stage: str, rev: str,
                 at: float, result: str = "passed", figures: dict[str, Any] | None = None,
                 run_id: str | None = None) -> None:
    conn.execute(
        "INSERT INTO evidence (service, digest, stage, result, figures, reports, revision,"
        " run_id, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (service, image, stage, result, json.dumps(figures or {}),
         json.dumps([f"reports/{stage}.xml"]), rev, run_id, at),
    )


def add_promotion(conn: sqlite3.Connection, service: str, env: str, image: str, rev: str | None,
                  started: float, finished: float | None, phase: str = "verified",
                  rollback: int = 0, actor: str = "ci") -> None:
    conn.execute(
        "INSERT INTO promotions (service, environment, digest, revision, phase, rollback, actor,"
        " started_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (service, env, image, rev, phase, rollback, actor, started, finished),
    )


@contextlib.contextmanager
def batch(conn: sqlite3.Connection) -> Iterator[None]:
    """One transaction that leaves `conn` open (a records connection's `with` also closes)."""
    conn.execute("BEGIN")
    yield
    conn.execute("COMMIT")


FAILURES: dict[tuple[str, str], dict[str, Any]] = {}


def fill(conn: sqlite3.Connection, t0: float = T0) -> None:
    """Three builds per service; build 3 of gateway is in test, build 2 in staging (but build 1
    still running there: drift), build 1 in production; password-strength is everywhere."""
    with batch(conn):
        for n in range(1, 4):
            rev = revision(f"r{n}")
            pushed = t0 + 1000 * n
            add_push(conn, rev, pushed, total=2, built=2 if n == 1 else 1)
            for service in SERVICES:
                if service == "password-strength" and n == 3:
                    continue  # the third push changed only the gateway
                image = digest(f"{service}-{n}")
                run_id = f"{service}-{n}"
                add_run(conn, run_id, service, rev, pushed + 5, image=image,
                        stages=tuple((s, "passed", 10.0 + i) for i, s in enumerate(STAGES)))
                conn.execute("INSERT INTO builds VALUES (?,?,?,?,?,?)",
                             (service, f"key-{service}-{n}", image,
                              f"127.0.0.1:5000/conveyor/{service}", rev, pushed + 15))
                for stage in STAGES[:3]:
                    add_evidence(conn, service, image, stage, rev, pushed + 20, run_id=run_id)
                figures: dict[str, Any] = {"p50_ms": 2.0 + n, "p95_ms": 5.0 + n,
                                           "p99_ms": 9.0 + 2 * n, "rps": 800.0 + 50 * n}
                if n == 2:
                    figures.pop("p95_ms")  # tolerated: a gap in the line
                add_evidence(conn, service, image, "performance", rev, pushed + 40,
                             figures=figures, run_id=run_id)
        # A failing pipeline, the newest of all.
        add_run(conn, "gateway-4", "gateway", revision("r4"), t0 + 4005, status="failed",
                stages=(("build", "passed", 12.0), ("unit", "failed", 3.0)))
        for service in SERVICES:
            last = 3 if service == "gateway" else 2
            placements = {"test": last, "staging": 2, "production": 1}
            for env, n in placements.items():
                finished = t0 + 1000 * n + 300 + 100 * ENVIRONMENTS.index(env)
                add_promotion(conn, service, env, digest(f"{service}-{n}"), revision(f"r{n}"),
                              finished - 60, finished)


def collector(conn_factory: Callable[[], sqlite3.Connection],
              running: dict[tuple[str, str], str] | None = None) -> Callable[[], dict[str, Any]]:
    """A stand-in for `conveyor.status.collect`: the latest completed promotion per cell is
    pinned; `running` overrides what runs (to make drift)."""
    overrides = running if running is not None else {
        ("gateway", "staging"): digest("gateway-1")}

    # The newest attempt to change production's gateway failed at verification.
    FAILURES[("gateway", "production")] = {
        "digest": digest("gateway-3"), "phase": "failed", "attempt": "promotion",
        "reason": "verification of gateway in production failed: 1 test failed",
        "actor": "alice", "at": T0}

    def collect() -> dict[str, Any]:
        conn = conn_factory()
        try:
            services: dict[str, Any] = {}
            for service in SERVICES:
                envs: dict[str, Any] = {}
                for env in ENVIRONMENTS:
                    row = conn.execute(
                        "SELECT * FROM promotions WHERE service = ? AND environment = ? AND"
                        " phase IN ('deployed', 'verified') ORDER BY id DESC LIMIT 1",
                        (service, env)).fetchone()
                    pinned = row["digest"] if row else None
                    now_running = overrides.get((service, env), pinned)
                    envs[env] = {
                        "pinned": pinned, "running": now_running,
                        "drift": pinned != now_running,
                        "revision": row["revision"] if row else None,
                        "promoted_at": row["finished_at"] if row else None,
                        "promoted_by": row["actor"] if row else None,
                        "stages_passed": list(STAGES) if row else [], "frozen": False,
                        "last_failure": FAILURES.get((service, env)),
                    }
                run = conn.execute("SELECT * FROM runs WHERE service = ? ORDER BY started_at"
                                   " DESC LIMIT 1", (service,)).fetchone()
                services[service] = {"environments": envs, "last_pipeline": None if run is None
                                     else {"run_id": run["run_id"], "status": run["status"],
                                           "executor": run["executor"], "url": run["url"],
                                           "revision": run["revision"],
                                           "started_at": run["started_at"],
                                           "finished_at": run["finished_at"], "stages": []}}
            return {"services": services, "environments": list(ENVIRONMENTS)}
        finally:
            conn.close()

    return collect
