"""`conveyor dashboard`: a read-only web page over the status and the records, on loopback only.

The status matrix comes from an injected collector (in production `conveyor.status.collect`);
pipelines, evidence, performance trends and delivery metrics are read from the records
database through an injected connection factory. Every request opens its own connection in a
worker thread, so a slow collector never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from conveyor.errors import ConveyorError, Refusal
from conveyor.records import builds, evidence, ledger, metrics, runs
from conveyor.records.evidence import DIGEST
from conveyor.util import charts, net
from conveyor.util.redact import redact

Collector = Callable[[], dict[str, Any]]
ConnFactory = Callable[[], sqlite3.Connection]

PERF_STAGE = "performance"
LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")
RECENT_RUNS = 15
TREND_POINTS = 30
REFRESH_S = 5
SNAPSHOT_TTL_S = 0.5
STATIC = Path(__file__).parent / "static"


class _Cache:
    """The last snapshot and when it was taken."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.data: dict[str, Any] | None = None
        self.taken = 0.0


COLLECTOR_KEY: web.AppKey[Collector] = web.AppKey("collector")
CONNECT_KEY: web.AppKey[ConnFactory] = web.AppKey("connect")
TEMPLATES_KEY: web.AppKey[jinja2.Environment] = web.AppKey("templates")
SETTINGS_KEY: web.AppKey[dict[str, Any]] = web.AppKey("settings")
CACHE_KEY: web.AppKey[_Cache] = web.AppKey("cache")


# ---------------------------------------------------------------- binding


def check_loopback(host: str) -> str:
    """Only a loopback address may be bound: the dashboard has no authentication."""
    if host == "localhost":
        return "127.0.0.1"
    if not net.is_loopback(host):
        raise Refusal(f"--host {host!r}: the dashboard only listens on a loopback IP address "
                      "such as 127.0.0.1 (it has no authentication)")
    return host


# ---------------------------------------------------------------- data


def short_digest(digest: str | None) -> str:
    if not digest:
        return ""
    return digest.removeprefix("sha256:")[:12]


def snapshot(collect: Collector, connect: ConnFactory, now: float | None = None) -> dict[str, Any]:
    """Everything the page shows, as JSON-able data (this is also `/api/status`).

    A collector that fails with a ConveyorError (central repository unreachable, bad config)
    leaves the matrix empty and says why; the records are still shown.
    """
    error = None
    try:
        status = collect()
    except ConveyorError as exc:
        status, error = {}, redact(str(exc))
    with closing(connect()) as conn:
        return {
            "generated_at": time.time() if now is None else now,
            "error": error,
            "environments": list(status.get("environments") or []),
            "services": status.get("services") or {},
            "pipelines": recent_pipelines(conn),
            "trends": performance_trends(conn),
            "metrics": metrics.compute(conn, _production(status)),
        }


def _production(status: dict[str, Any]) -> str:
    environments = status.get("environments") or []
    return str(environments[-1]) if environments else "production"


def recent_pipelines(conn: sqlite3.Connection, limit: int = RECENT_RUNS) -> list[dict[str, Any]]:
    """The latest runs of every service, newest first, each with its stages in order."""
    result = []
    for run in runs.recent(conn, limit):
        stages = runs.stages(run["run_id"], conn)
        item = dict(run)
        item["duration_s"] = (run["finished_at"] - run["started_at"]
                              if run["finished_at"] is not None else None)
        item["stages"] = [{"stage": s["stage"], "status": s["status"],
                           "duration_s": s["finished_at"] - s["started_at"],
                           "log_path": s["log_path"]} for s in stages]
        result.append(item)
    return result


def performance_trends(conn: sqlite3.Connection,
                       limit: int = TREND_POINTS) -> dict[str, list[dict[str, Any]]]:
    """Per service, the latest performance measurements (oldest first), one per evidence row."""
    rows = evidence.latest_of_stage(conn, PERF_STAGE, limit)
    trends: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        figures = _figures(row["figures"])
        trends.setdefault(row["service"], []).append({
            "digest": row["digest"], "revision": row["revision"], "result": row["result"],
            "recorded_at": row["recorded_at"],
            **{key: charts.number(figures.get(key)) for key in (*LATENCY_KEYS, "rps")},
        })
    return trends


def _figures(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def digest_records(conn: sqlite3.Connection, digest: str) -> dict[str, Any]:
    """The evidence, builds, runs and promotions of one digest, oldest first."""
    proofs = [
        {**dict(row), "figures": _figures(row["figures"]), "reports": _reports(row["reports"])}
        for row in evidence.rows_for_digest(conn, digest)
    ]
    built = builds.for_digest(conn, digest)
    promotions = ledger.for_digest(conn, digest)
    ran = runs.for_digest(conn, digest)
    services = sorted({r["service"] for r in (*proofs, *built, *promotions, *ran)})
    return {"digest": digest, "services": services, "evidence": proofs, "builds": built,
            "promotions": promotions, "runs": ran}


def _reports(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


# ---------------------------------------------------------------- rendering


def trend_charts(points: list[dict[str, Any]]) -> tuple[str, str]:
    """The latency chart and the throughput chart of one service's measurements."""
    labels = [charts.Point(short_digest(p["digest"])[:7], p["result"] != "passed")
              for p in points]
    latency = {key.removesuffix("_ms"): [p[key] for p in points] for key in LATENCY_KEYS
               if any(p[key] is not None for p in points)}
    latency = latency or {"p50": [None for _ in points]}
    return (charts.line_chart("Latency", "ms", labels, latency),
            charts.line_chart("Throughput", "req/s", labels, {"rps": [p["rps"] for p in points]}))


def age(then: float | None, now: float) -> str:
    if then is None:
        return ""
    return f"{metrics.format_duration(max(0.0, now - then))} ago"


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conveyor.web", "templates"),
        autoescape=jinja2.select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["short"] = short_digest
    env.filters["duration"] = metrics.format_duration
    env.filters["ratio"] = metrics.format_ratio
    env.filters["clock"] = lambda t: (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
                                      if t else "")
    env.globals["age"] = age
    return env


def render(env: jinja2.Environment, name: str, **context: Any) -> web.Response:
    html = env.get_template(name).render(**context)
    return web.Response(text=html, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------- the app


async def _snapshot(request: web.Request) -> dict[str, Any]:
    """The current snapshot; requests arriving together (several tabs) share one."""
    app = request.app
    cache = app[CACHE_KEY]
    async with cache.lock:
        if cache.data is None or time.monotonic() - cache.taken > SNAPSHOT_TTL_S:
            cache.data = await asyncio.to_thread(snapshot, app[COLLECTOR_KEY], app[CONNECT_KEY])
            cache.taken = time.monotonic()
        return cache.data


async def index(request: web.Request) -> web.Response:
    data = await _snapshot(request)
    chart_markup = {service: tuple(Markup(c) for c in trend_charts(points))
                    for service, points in data["trends"].items()}
    return render(request.app[TEMPLATES_KEY], "index.html", data=data, charts=chart_markup,
                  now=data["generated_at"], **request.app[SETTINGS_KEY])


async def _records_of_requested_digest(request: web.Request) -> dict[str, Any]:
    digest = request.match_info["digest"]
    if not DIGEST.match(digest):
        raise web.HTTPNotFound(text=f"not an image digest: {digest}")

    def read() -> dict[str, Any]:
        with closing(request.app[CONNECT_KEY]()) as conn:
            return digest_records(conn, digest)

    return await asyncio.to_thread(read)


async def digest_page(request: web.Request) -> web.Response:
    records = await _records_of_requested_digest(request)
    return render(request.app[TEMPLATES_KEY], "digest.html", records=records, now=time.time(),
                  **request.app[SETTINGS_KEY])


async def api_status(request: web.Request) -> web.Response:
    return web.json_response(await _snapshot(request), headers={"Cache-Control": "no-store"},
                             dumps=lambda v: json.dumps(v, sort_keys=True, default=str))


async def api_digest(request: web.Request) -> web.Response:
    return web.json_response(await _records_of_requested_digest(request),
                             dumps=lambda v: json.dumps(v, sort_keys=True, default=str))


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def create_app(collect: Collector, conn_factory: ConnFactory, title: str = "Conveyor",
               refresh_s: int = REFRESH_S) -> web.Application:
    """The dashboard: `/`, `/digest/<sha256:...>`, `/api/status`, `/api/digest/...`, `/healthz`."""
    app = web.Application(middlewares=[security_headers])
    app[COLLECTOR_KEY] = collect
    app[CONNECT_KEY] = conn_factory
    app[TEMPLATES_KEY] = templates()
    app[SETTINGS_KEY] = {"title": title, "refresh_ms": max(1, refresh_s) * 1000}
    app[CACHE_KEY] = _Cache()
    app.router.add_get("/", index)
    app.router.add_get("/digest/{digest}", digest_page)
    app.router.add_get("/api/status", api_status)
    app.router.add_get("/api/digest/{digest}", api_digest)
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", STATIC)
    return app


def serve(app: web.Application, host: str, port: int,
          print_fn: Callable[[str], None] = print) -> None:
    """Run until interrupted, on a loopback address only."""
    address = check_loopback(host)
    shown = f"[{address}]" if ":" in address else address
    print_fn(f"conveyor dashboard on http://{shown}:{port}/ (Ctrl-C to stop)")
    web.run_app(app, host=address, port=port, print=None, access_log=None)

