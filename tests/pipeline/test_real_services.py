"""End to end on the real monorepo: `conveyor run password-strength` and `conveyor run gateway`.

Runs a clone of the repository's HEAD whose conveyor.toml points at the test registry;
skipped while a service's Dockerfile is not committed yet. Automatic promotion is stubbed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conveyor.pipeline import run as pipeline_run
from tests.support import records

from .conftest import REAL_REPO, commit, git

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("no_containers_left")]


@pytest.fixture
def real_clone(tmp_path: Path, registry: str) -> Path:
    clone = tmp_path / "monorepo"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REAL_REPO), str(clone)],
                   check=True)
    toml = clone / "conveyor.toml"
    toml.write_text(toml.read_text().replace('address = "127.0.0.1:5000"',
                                             f'address = "{registry}"'))
    commit(clone, "test registry")
    return clone


@pytest.mark.parametrize("service", ["password-strength", "gateway"])
def test_conveyor_run_on_the_real_service(service: str, real_clone: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for needed in ("password-strength", service):
        if subprocess.run(["git", "-C", str(real_clone), "cat-file", "-e",
                           f"HEAD:services/{needed}/Dockerfile"]).returncode:
            pytest.skip(f"services/{needed}/Dockerfile is not committed yet")
    calls: list[dict[str, object]] = []
    lines: list[str] = []

    code = pipeline_run.run(real_clone, service, out=lines.append,
                            after=lambda config, **kw: calls.append(kw))

    assert code == 0, "\n".join(lines[-60:])
    run = records.rows("SELECT * FROM runs")[0]
    assert run["status"] == "passed"
    assert calls and calls[0]["digest"] == run["digest"]
    assert run["revision"] == git(real_clone, "rev-parse", "HEAD")
