"""Fixtures for the image tests: the service monorepo on the session's registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.services import make_monorepo


@pytest.fixture
def monorepo(tmp_path: Path, registry: str) -> Path:
    return make_monorepo(tmp_path / "monorepo", registry)
