"""The README's first command, end to end: push → build → test → promote, twice.

This is the whole flow on the embedded default (real git push into a bare repository with
the hook installed, the local executor, Docker, the registry, the local deployer), so it is
slow: about ten minutes on two cores with a cold Docker cache.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from conveyor import demo, state
from conveyor.config import loader
from conveyor.images import containers, engine, instance
from conveyor.promotion import deploy, status
from conveyor.util import net
from conveyor.util.progress import Progress
from tests.support import repo

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.docker]


def _logs_tail(lines: int = 40) -> str:
    """The end of every stage log of this home's runs: demo.clean removes the home, so a
    failure must carry the reason in its message."""
    tails = []
    for log in sorted((state.home() / "runs").glob("*/*.log"), key=lambda p: p.stat().st_mtime):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        tails.append(f"--- {log}\n" + "\n".join(text))
    return "\n".join(tails[-4:])


def _own_ports(tmp_path: Path) -> Path:
    """This repository, committed with its own registry port and port bases: the demo a
    developer ran before the tests (README: the demo, then the tests) keeps 5000 and
    21000-23000, and two instances on one machine must not share ports (docs/platform.md)."""
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True,
                   timeout=300)
    toml = clone / "conveyor.toml"
    text = toml.read_text().replace('address = "127.0.0.1:5000"',
                                    f'address = "127.0.0.1:{net.free_port()}"')
    for base in (21000, 22000, 23000):
        text = text.replace(f"port_base = {base}\n", f"port_base = {base + 15000}\n")
    toml.write_text(text)
    repo.commit(clone, "this test's own ports")
    return clone


def _up(source: Path, progress: Progress) -> demo.Result:
    try:
        return demo.up(source, progress=progress, dashboard=False)
    except Exception as error:
        pytest.fail(f"demo.up failed: {error}\n{_logs_tail()}")


def test_the_demo_takes_both_services_to_production_and_rebuilds_only_what_changed(
        tmp_path: Path) -> None:
    source = _own_ports(tmp_path)
    lines: list[str] = []
    try:
        result = _up(source, lines.append)
        first, second = result.pushes
        assert first.services == ["gateway", "password-strength"]
        assert second.services == ["gateway"]
        assert any("approving explicitly" in line for line in lines)

        data = status.collect(loader.load_dir(demo.folder() / "work"), str(result.central))
        gateway = data["services"]["gateway"]["environments"]
        strength = data["services"]["password-strength"]["environments"]
        # One digest per service everywhere: what was tested is what runs.
        assert {cell["pinned"] for cell in gateway.values()} == {result.production["gateway"]}
        assert {cell["pinned"] for cell in strength.values()} == {
            result.production["password-strength"]}
        for cell in [*gateway.values(), *strength.values()]:
            assert cell["running"] == cell["pinned"] and not cell["drift"]
        assert {"build", "unit", "integration", "performance"} <= set(
            gateway["production"]["stages_passed"])
        # The second push changed gateway only: its digest moved, password-strength's did not.
        assert result.second_push_seconds is not None
        assert any("push 2 → gateway healthy in production" in line for line in lines)
        assert any(line.startswith("password-strength: the same digest") for line in lines)
        calls = [line for line in lines if line.startswith("POST http://127.0.0.1:")]
        assert "'password123': score 0" in calls[0] and "': score 4" in calls[1]

        # Issue 12 #1: remove the test environment's containers by hand, run it again: it
        # converges (dependencies first) instead of waiting out a timeout.
        for service in ("gateway", "password-strength"):
            containers.remove(deploy.container_name("test", service))
        again: list[str] = []
        started = time.monotonic()
        _up(source, again.append)
        print(f"demo rerun after removing the test containers: "
              f"{time.monotonic() - started:.0f} s")
        redeployed = [line.split()[1] for line in again
                      if line.startswith("  test: ") and line.rstrip().endswith(
                          "redeployed and verified")]
        # dependencies first: gateway's readiness needs password-strength
        assert redeployed == ["password-strength", "gateway"], "\n".join(again)
        data = status.collect(loader.load_dir(demo.folder() / "work"), str(result.central))
        for service in data["services"].values():
            for cell in service["environments"].values():
                assert cell["running"] == cell["pinned"] and not cell["drift"]
    finally:
        demo.clean(source, progress=lines.append)
    leftover = engine.client().containers.list(all=True, filters={"label": [
        "conveyor.env", f"{instance.LABEL}={instance.instance_id()}"]})
    assert leftover == []
    assert not containers.is_running(deploy.container_name("production", "gateway"))
