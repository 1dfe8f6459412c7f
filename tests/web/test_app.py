"""The dashboard's pages and JSON over a real records database, through aiohttp's test client."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from contextlib import closing
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from conveyor.errors import ConveyorError, Refusal
from conveyor.records import db
from conveyor.util import charts
from conveyor.web import dashboard

from . import scenario
from .scenario import digest, revision

Check = Callable[[TestClient[Any, Any]], Awaitable[None]]


@pytest.fixture
def app() -> Any:
    with closing(db.connect()) as conn:
        scenario.fill(conn)
    return dashboard.create_app(scenario.collector(db.connect), db.connect)


def run(app: Any, check: Check) -> None:
    async def main() -> None:
        async with TestClient(TestServer(app)) as client:
            await check(client)

    asyncio.run(main())


def test_overview_shows_matrix_drift_pipelines_metrics_and_charts(app: Any) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.get("/")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        html = await response.text()
        for env in scenario.ENVIRONMENTS:
            assert f"<th>{env}</th>" in html
        short = dashboard.short_digest
        assert f'href="/digest/{digest("gateway-3")}"' in html
        assert short(digest("password-strength-1")) in html
        # the drift: gateway pinned build 2 in staging but build 1 still runs there
        drift = re.search(r'<td class="cell drift" data-env="staging">(.*?)</td>', html, re.S)
        assert drift is not None
        assert short(digest("gateway-2")) in drift.group(1)
        # a failed attempt is visible where the environment is shown
        assert "at failed: verification of gateway in production failed: 1 test failed" in html
        assert "running" in drift.group(1) and short(digest("gateway-1")) in drift.group(1)
        assert html.count('class="cell drift"') == 1
        # pipelines, newest first, with each stage's result and duration
        assert html.index('data-run="gateway-4"') < html.index('data-run="gateway-3"')
        assert '<span class="stage failed" title="unit failed in 3s">' in html
        # delivery metrics and one pair of trend charts per service
        assert 'data-metric="lead-time" data-service="gateway"' in html
        assert "8m 20s" in html and "50%" in html
        assert html.count('<svg class="chart"') == 4
        assert "refresh" in html

    run(app, check)


def test_api_status_returns_the_same_data_as_json(app: Any) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.get("/api/status")
        assert response.status == 200
        data = await response.json()
        assert data["environments"] == list(scenario.ENVIRONMENTS)
        staging = data["services"]["gateway"]["environments"]["staging"]
        assert staging["drift"] is True and staging["pinned"] == digest("gateway-2")
        assert [r["run_id"] for r in data["pipelines"][:2]] == ["gateway-4", "gateway-3"]
        assert data["pipelines"][0]["stages"][1] == {
            "stage": "unit", "status": "failed", "duration_s": 3.0, "log_path": None}
        gateway = data["trends"]["gateway"]
        assert [p["p99_ms"] for p in gateway] == [11.0, 13.0, 15.0]
        assert gateway[1]["p95_ms"] is None  # missing key tolerated
        assert data["metrics"]["lead_time"]["gateway"]["last_s"] == 500
        assert data["metrics"]["build_avoidance"]["pushes"] == 3

    run(app, check)


def test_digest_page_lists_its_evidence_and_promotions(app: Any) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        image = digest("gateway-1")
        response = await client.get(f"/digest/{image}")
        assert response.status == 200
        html = await response.text()
        assert image in html
        for stage in scenario.STAGES:
            assert f"<td>{stage}</td>" in html
        assert "p99_ms 11.0" in html
        assert html.count("<td>production") == 1
        assert revision("r1")[:10] in html
        data = await (await client.get(f"/api/digest/{image}")).json()
        assert data["services"] == ["gateway"]
        assert len(data["evidence"]) == 4

    run(app, check)


def test_a_digest_never_recorded_is_an_empty_page_and_a_bad_one_is_not_found(app: Any) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.get(f"/digest/{digest('unknown')}")
        assert response.status == 200
        assert "No evidence recorded." in await response.text()
        assert (await client.get("/digest/latest")).status == 404
        assert (await client.get("/digest/sha256:ABC")).status == 404
        assert (await client.get("/api/digest/..%2F..%2Fetc")).status == 404

    run(app, check)


def test_healthz_static_and_headers(app: Any) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.get("/healthz")
        assert response.status == 200 and await response.text() == "ok\n"
        css = await client.get("/static/style.css")
        assert css.status == 200 and ".matrix" in await css.text()
        page = await client.get("/")
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["X-Content-Type-Options"] == "nosniff"

    run(app, check)


def test_an_empty_installation_renders(conveyor_home: Any) -> None:
    empty = dashboard.create_app(lambda: {"services": {}, "environments": []}, db.connect)

    async def check(client: TestClient[Any, Any]) -> None:
        html = await (await client.get("/")).text()
        assert "No services yet." in html
        assert "No pipelines have run yet." in html
        assert "No performance measurements yet." in html

    run(empty, check)


def test_values_from_records_are_escaped(conveyor_home: Any) -> None:
    with closing(db.connect()) as conn:
        scenario.add_run(conn, "<script>x</script>", "gateway", revision("a"), scenario.T0)
    app = dashboard.create_app(lambda: {"services": {}, "environments": []}, db.connect)

    async def check(client: TestClient[Any, Any]) -> None:
        html = await (await client.get("/")).text()
        assert "<script>x</script>" not in html
        assert "&lt;script&gt;x&lt;/script&gt;" in html

    run(app, check)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_addresses_are_accepted(host: str) -> None:
    assert dashboard.check_loopback(host) in (host, "127.0.0.1")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "example.com", ""])
def test_other_addresses_are_refused(host: str) -> None:
    with pytest.raises(Refusal):
        dashboard.check_loopback(host)


def test_chart_leaves_gaps_for_missing_values_and_marks_failures() -> None:
    points = [charts.Point("a"), charts.Point("b", failed=True), charts.Point("c")]
    svg = charts.line_chart("Latency", "ms", points, {"p50": [1.0, None, 3.0],
                                                      "p99": [4.0, 5.0, 6.0]})
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == 3  # p50 broken in two, p99 whole
    assert svg.count('class="dot failed"') == 1
    assert "no measurements yet" in charts.line_chart("T", "ms", points, {"p50": [None] * 3})
    assert [charts.number(v) for v in (1, 2.5, "3", True, float("nan"), None)] == [
        1.0, 2.5, None, None, None, None]


def test_a_failing_collector_is_explained_and_the_records_still_show(app: Any) -> None:
    def broken() -> dict[str, Any]:
        raise ConveyorError("central repository /srv/central.git not found")

    failing = dashboard.create_app(broken, db.connect)

    async def check(client: TestClient[Any, Any]) -> None:
        html = await (await client.get("/")).text()
        assert "Status unavailable: central repository /srv/central.git not found" in html
        assert 'data-run="gateway-4"' in html
        data = await (await client.get("/api/status")).json()
        assert data["error"].startswith("central repository") and data["services"] == {}

    run(failing, check)


def test_requests_arriving_together_share_one_collection(conveyor_home: Any) -> None:
    calls: list[int] = []

    def counting() -> dict[str, Any]:
        calls.append(1)
        return {"services": {}, "environments": []}

    app = dashboard.create_app(counting, db.connect)

    async def check(client: TestClient[Any, Any]) -> None:
        responses = await asyncio.gather(*(client.get("/api/status") for _ in range(5)))
        assert all(r.status == 200 for r in responses)

    run(app, check)
    assert len(calls) == 1
