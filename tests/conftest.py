"""Fixtures every test folder can use: an isolated Conveyor state directory (every test),
and the session's one real registry."""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real docker-registry on a free port, in its own directory, for the whole session."""
    from conveyor.images import engine, registry_server
    from conveyor.util import net

    engine.client()  # no Docker: fail here, before a registry is started
    address = f"127.0.0.1:{net.free_port()}"
    directory = tmp_path_factory.mktemp("registry")
    registry_server.start(address, directory)
    yield address
    registry_server.stop(address, directory)
