"""`conveyor metrics` and `conveyor dashboard` through the CLI entry point."""

from __future__ import annotations

import asyncio
import json
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from conveyor import cli
from conveyor.promotion import status
from conveyor.records import db
from conveyor.web import dashboard

from . import scenario


def test_metrics_prints_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    with closing(db.connect()) as conn:
        scenario.fill(conn)
    assert cli.main(["metrics"]) == 0
    assert "gateway            last   8m 20s" in capsys.readouterr().out
    assert cli.main(["metrics", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lead_time"]["password-strength"]["median_s"] == 500
    assert cli.main(["metrics", "--environment", "staging", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lead_time"]["gateway"]["last_s"] == 400


def test_dashboard_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["dashboard", "--host", "0.0.0.0"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_dashboard_serves_what_the_status_collector_returns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conveyor.toml").write_text("[project]\n")  # every default
    calls: list[tuple[Any, Any]] = []

    def collect(config: Any, central: Any) -> dict[str, Any]:
        calls.append((config, central))
        return {"services": {}, "environments": ["test", "staging", "production"]}

    monkeypatch.setattr(status, "collect", collect)
    served: list[tuple[web.Application, str, int]] = []
    monkeypatch.setattr(dashboard, "serve", lambda app, host, port: served.append(
        (app, host, port)))

    code = cli.main(["dashboard", "--repo", str(tmp_path), "--port", "9999",
                     "--central", str(tmp_path / "central.git")])
    assert code == 0
    [(app, host, port)] = served
    assert (host, port) == ("127.0.0.1", 9999)

    async def fetch() -> dict[str, Any]:
        async with TestClient(TestServer(app)) as client:
            data: dict[str, Any] = await (await client.get("/api/status")).json()
            return data

    assert asyncio.run(fetch())["environments"] == ["test", "staging", "production"]
    [(config, central)] = calls
    assert [e.name for e in config.settings.environments] == ["test", "staging", "production"]
    assert central == str(tmp_path / "central.git")


def test_status_metrics_adds_the_delivery_figures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "conveyor.toml").write_text("[project]\n")  # every default
    with closing(db.connect()) as conn:
        scenario.fill(conn)
    monkeypatch.setattr(status, "collect", lambda config, central: {
        "services": {}, "environments": ["test", "staging", "production"]})
    args = ["status", "--repo", str(tmp_path), "--central", str(tmp_path / "c.git")]
    assert cli.main([*args, "--metrics"]) == 0
    assert "gateway            last   8m 20s" in capsys.readouterr().out
    assert cli.main([*args, "--metrics", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["lead_time"]["gateway"]["last_s"] == 500
    assert cli.main([*args, "--json"]) == 0
    assert "metrics" not in json.loads(capsys.readouterr().out)
