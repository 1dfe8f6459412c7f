"""What a person sees: the dashboard in headless Chromium over a filled records database."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from conveyor.records import db
from conveyor.web import dashboard

from . import scenario
from .scenario import digest, revision

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REPORTS = Path(__file__).resolve().parents[2] / "reports" / "dashboard"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                       reason="needs the Debian chromium and chromium-driver packages"),
]


class Server:
    """The dashboard app on a free 127.0.0.1 port, in a thread with its own event loop."""

    def __init__(self, app: web.Application) -> None:
        self.app, self.port = app, 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = runner.addresses[0][1]
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()

    def __enter__(self) -> str:
        self.thread.start()
        assert self.ready.wait(10), "the dashboard did not start"
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,1900",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def steady(driver: Any, check: Callable[[], bool]) -> None:
    """Run a check of the page, again if the live refresh replaced what it was reading."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda _: check())


def test_a_person_sees_the_matrix_the_drift_the_trends_and_live_updates(driver: Any) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    t0 = time.time() - 5000
    with closing(db.connect()) as conn:
        scenario.fill(conn, t0)
    app = dashboard.create_app(scenario.collector(db.connect), db.connect, refresh_s=1)

    with Server(app) as url:
        driver.get(url + "/")
        assert driver.title == "Conveyor"

        def cell(service: str, env: str) -> Any:
            return driver.find_element(
                By.CSS_SELECTOR, f'tr[data-service="{service}"] td[data-env="{env}"]')

        short = dashboard.short_digest

        def overview() -> bool:
            assert short(digest("gateway-3")) in cell("gateway", "test").text
            assert short(digest("gateway-1")) in cell("gateway", "production").text
            assert short(digest("password-strength-2")) in cell("password-strength",
                                                                 "staging").text
            drifting = cell("gateway", "staging")
            badge = drifting.find_element(By.CSS_SELECTOR, ".badge.drift")
            assert badge.is_displayed() and badge.text == "drift"
            assert f"running {short(digest('gateway-1'))}" in drifting.text
            assert len(driver.find_elements(By.CSS_SELECTOR, ".badge.drift")) == 1

            charts = driver.find_elements(By.CSS_SELECTOR,
                                          '.trend[data-service="gateway"] svg.chart')
            assert len(charts) == 2 and all(c.is_displayed() for c in charts)
            assert charts[0].size["width"] > 300
            assert "8m 20s" in driver.find_element(
                By.CSS_SELECTOR, '[data-metric="lead-time"][data-service="gateway"]').text
            failed = driver.find_element(By.CSS_SELECTOR,
                                         'tr[data-run="gateway-4"] .stage.failed')
            assert failed.text.startswith("unit")
            return True

        steady(driver, overview)

        REPORTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(REPORTS / "overview.png"))

        # A new pipeline run and a new production promotion show up without reloading.
        with closing(db.connect()) as conn, conn:
            scenario.add_run(conn, "gateway-5", "gateway", revision("r5"), time.time() - 30)
            scenario.add_promotion(conn, "gateway", "production", digest("gateway-3"),
                                   revision("r3"), time.time() - 20, time.time() - 5)
        driver.execute_script("window.__same_document = true")
        live = WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,))
        live.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-run="gateway-5"]'))
        live.until(lambda d: short(digest("gateway-3")) in cell("gateway", "production").text)
        assert driver.execute_script("return window.__same_document") is True

        driver.get(f"{url}/digest/{digest('gateway-1')}")

        def evidence() -> bool:
            rows = driver.find_elements(By.CSS_SELECTOR, "table.evidence tbody tr")
            assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == list(scenario.STAGES)
            return True

        steady(driver, evidence)
        driver.save_screenshot(str(REPORTS / "digest.png"))
