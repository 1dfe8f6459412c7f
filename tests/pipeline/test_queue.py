"""Local runs take turns: oldest first, but never before a queued run of a dependency."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from conveyor.config import loader
from conveyor.config import model as config
from conveyor.pipeline import queue as run_queue

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path) -> config.Config:
    shutil.copy(REPO / "conveyor.toml", tmp_path / "conveyor.toml")
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    return loader.load_dir(tmp_path)


def test_a_dependency_goes_first_even_when_queued_later(tmp_path: Path) -> None:
    loaded = _config(tmp_path)
    queued = [("run-g", "gateway", 1.0), ("run-p", "password-strength", 2.0)]
    assert run_queue.needs(loaded, "gateway") == {"password-strength"}
    assert run_queue.whose_turn(loaded, queued) == "run-p"


def test_otherwise_the_oldest_goes_first(tmp_path: Path) -> None:
    loaded = _config(tmp_path)
    queued = [("run-p1", "password-strength", 1.0), ("run-p2", "password-strength", 2.0)]
    assert run_queue.whose_turn(loaded, queued) == "run-p1"
    assert run_queue.whose_turn(loaded, [("run-g", "gateway", 1.0)]) == "run-g"
    assert run_queue.whose_turn(loaded, []) is None


def test_a_queued_run_whose_process_died_is_skipped(tmp_path: Path) -> None:
    Path(run_queue.pid_file("dead-run")).write_text("999999999\n")
    assert not run_queue.is_alive("dead-run", queued_at=0.0)
    assert run_queue.is_alive("never-started", queued_at=time.time())
