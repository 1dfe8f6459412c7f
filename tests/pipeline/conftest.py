"""Fixtures for the stage tests: the service monorepo (tests/support/services.py) on the
session's registry, a stage context for its HEAD, and a check that no container is left."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.config import loader
from conveyor.images import engine
from conveyor.pipeline.context import StageContext
from tests.support.repo import commit  # noqa: F401 (the tests import it from here)
from tests.support.repo import git_text as git
from tests.support.services import REAL_REPO, make_monorepo, write  # noqa: F401


@pytest.fixture
def monorepo(tmp_path: Path, registry: str) -> Path:
    return make_monorepo(tmp_path / "monorepo", registry)


def ours_running() -> list[str]:
    """Containers a stage of this test process started (the session label names our pid)."""
    marker = f"-{os.getpid()}-"
    return [c.name for c in engine.client().containers.list(
        all=True, filters={"label": "conveyor.session"})
        if marker in c.labels.get("conveyor.session", "")]


@pytest.fixture
def no_containers_left() -> Iterator[None]:
    """Proves that nothing a stage started is still there afterwards, whatever the outcome."""
    yield
    assert ours_running() == []


def stage_context(repo: Path, service: str, lines: list[str] | None = None,
                  reports_dir: Path | None = None) -> StageContext:
    """The context a stage gets for HEAD of `repo` (the checkout is the workspace)."""
    revision = git(repo, "rev-parse", "HEAD")
    return StageContext(
        config=loader.load_commit(repo, revision), repo=repo, workspace=repo, service=service,
        revision=revision, reports=reports_dir or repo / "reports" / service,
        run_id="test-run", progress=(lines.append if lines is not None else lambda _: None))
