"""Fixtures every test gets: an isolated Conveyor state directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def conveyor_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own state directory, so records never leak between tests."""
    home = tmp_path_factory.mktemp("conveyor-home")
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    return home
