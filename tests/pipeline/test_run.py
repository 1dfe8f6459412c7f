"""`conveyor run`: the stage list in order, from a committed revision, recorded; the local
executor starts it detached and idempotently."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conveyor import cli
from conveyor.config import loader
from conveyor.config.loader import load_dir
from conveyor.executors import Trigger
from conveyor.executors.local import LocalExecutor
from conveyor.pipeline import queue as run_queue
from conveyor.pipeline import run as pipeline_run
from conveyor.promotion import automatic
from conveyor.records import runs
from tests.support import records

from .conftest import commit, write

pytestmark = [pytest.mark.usefixtures("no_containers_left")]


@pytest.fixture
def promotions(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stands in for automatic promotion and records how the run called it."""
    calls: list[dict[str, Any]] = []
    def after_pipeline(config: Any, progress: Any, **facts: Any) -> None:
        progress("promoted (stand-in)")
        calls.append(facts)

    monkeypatch.setattr(automatic, "after_pipeline", after_pipeline)
    return calls


@pytest.mark.docker
@pytest.mark.slow
def test_run_passes_every_stage_from_the_committed_revision(
        monorepo: Path, promotions: list[dict[str, Any]],
        capsys: pytest.CaptureFixture[str]) -> None:
    write(monorepo, "services/names/tests/integration/test_uncommitted.py",
          "def test_not_committed():\n    assert False\n")  # the working tree is not used

    code = cli.main(["run", "names", "--repo", str(monorepo)])

    assert code == 0, capsys.readouterr().out[-3000:]
    run = records.rows("SELECT * FROM runs")[0]
    assert run["status"] == "passed" and run["digest"].startswith("sha256:")
    stages = records.rows("SELECT * FROM stage_runs ORDER BY started_at")
    assert [s["stage"] for s in stages] == ["build", "unit", "integration", "performance"]
    assert all(Path(s["log_path"]).read_text() for s in stages)
    assert promotions == [{"service": "names", "digest": run["digest"],
                           "revision": run["revision"], "ref": "refs/heads/main",
                           "repository": str(monorepo)}]


@pytest.mark.docker
@pytest.mark.slow
def test_the_exit_code_names_the_first_failing_stage(
        monorepo: Path, promotions: list[dict[str, Any]]) -> None:
    write(monorepo, "services/names/tests/integration/test_broken.py",
          "def test_broken():\n    assert False\n")
    commit(monorepo, "broken integration")

    code = pipeline_run.run(monorepo, "names", out=lambda _: None)

    assert code == pipeline_run.EXIT_CODES["integration"]
    stages = {s["stage"]: s["status"] for s in records.rows("SELECT * FROM stage_runs")}
    assert stages == {"build": "passed", "unit": "passed", "integration": "failed"}
    assert records.rows("SELECT status FROM runs")[0]["status"] == "failed"
    assert promotions == []


def test_submitting_the_same_trigger_twice_gives_one_run(monorepo: Path) -> None:
    executor = LocalExecutor(load_dir(monorepo).settings, str(monorepo))
    trigger = Trigger("t" * 40, "names", "k" * 32, b"refs/heads/main", "f" * 40,
                      str(monorepo), "test")

    first = executor.submit(trigger)
    second = executor.submit(trigger)

    assert first == second and first.run_id == pipeline_run.run_id_for("t" * 40)
    assert records.rows("SELECT count(*) FROM runs")[0][0] == 1
    log = Path(first.url or "") / "run.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "no commit" not in (
            log.read_text() if log.exists() else ""):
        time.sleep(0.2)
    assert "no commit ffffffff" in log.read_text()  # the detached run really ran


def test_runs_on_one_machine_take_turns(monorepo: Path) -> None:
    loaded = loader.load_dir(monorepo)
    service = next(iter(loaded.pipelines))
    for run_id in ("first", "second"):
        pipeline_run.queue(run_id, service, "0" * 40)
    order: list[str] = []

    def second_run() -> None:
        with run_queue.turn(loaded, "second", on_wait=lambda: order.append("second waits")):
            order.append("second runs")

    with run_queue.turn(loaded, "first", on_wait=lambda: order.append("first waits")):
        thread = threading.Thread(target=second_run)
        thread.start()
        time.sleep(1.5)
        assert order == ["second waits"]  # the older run goes first
        runs.set_status("first", "passed", finished=True)
    thread.join(10)
    assert order == ["second waits", "second runs"]
