"""A built wheel is an install: built out of tree, installed into a fresh virtual environment,
it installs the hooks into a bare repository and answers a real push."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.intake.conftest import make_monorepo, stop_dispatcher

REPO = Path(__file__).resolve().parents[1]


def _tree_state() -> str:
    """What git sees in the repository, ignored files included (build/ is a content-key path)."""
    return subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--ignored",
                           "--untracked-files=all", "--", "build", "src"],
                          capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.mark.slow
def test_the_wheel_installs_hooks_that_answer_a_push(tmp_path: Path) -> None:
    before = _tree_state()
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "--no-build-isolation", "-w", str(tmp_path / "dist"), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    assert _tree_state() == before  # building wrote nothing into the repository
    wheel = next((tmp_path / "dist").glob("conveyor-*.whl"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run([str(venv / "bin/pip"), "install", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-2000:]
    located = subprocess.run([str(venv / "bin/python"), "-c",
                              "import conveyor, sys; print(conveyor.__file__)"],
                             capture_output=True, text=True, check=True, timeout=60)
    assert located.stdout.startswith(str(venv))  # the wheel's copy, not the checkout
    template = subprocess.run([str(venv / "bin/python"), "-c",
                               "from conveyor.commands.init import jenkinsfile; "
                               "print(jenkinsfile(), end='')"],
                              capture_output=True, text=True, check=True, timeout=60)
    assert template.stdout == (REPO / "Jenkinsfile").read_text()  # what `conveyor init` writes

    (tmp_path / "repo").mkdir()
    monorepo = make_monorepo(tmp_path / "repo")
    try:
        hooked = subprocess.run([str(venv / "bin/conveyor"), "hook", "install",
                                 str(monorepo.bare)], capture_output=True, text=True, timeout=120)
        assert hooked.returncode == 0, hooked.stderr
        shim = (monorepo.bare / "hooks" / "post-receive").read_text()
        assert str(venv / "bin/python") in shim

        pushed = monorepo.push("main")
        err = pushed.stderr.decode()
        assert "conveyor: gateway → queued (first push of main)" in err, err
        assert "conveyor: password-strength → queued (first push of main)" in err, err
        assert {service for _, service, _ in monorepo.wait_delivered(2)} == {
            "gateway", "password-strength"}
    finally:
        stop_dispatcher(monorepo.bare)
