"""The CLI boundary: one exit code per error class (the table in conveyor.errors), one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor import cli, errors
from conveyor.commands import version
from conveyor.errors import ConfigError, ConveyorError, Refusal, Retryable, UsageError

CONVEYOR = [sys.executable, "-m", "conveyor"]


@pytest.mark.parametrize(("raised", "code"), [
    (ConveyorError("the build failed"), 1),
    (Refusal("not promotable: missing integration"), 2),
    (UsageError("which service? pass --service"), 64),
    (Retryable("registry: connection refused"), 75),
    (ConfigError("conveyor.toml: executor.kind: unknown"), 78),
    (KeyboardInterrupt(), 130),
])
def test_each_error_class_has_its_exit_code_and_one_line(
        raised: BaseException, code: int, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def explode(args: object) -> int:
        raise raised

    monkeypatch.setattr(version, "run", explode)
    assert cli.main(["version"]) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("conveyor: ")
    assert "Traceback" not in err


def test_an_unexpected_error_is_one_line_with_the_traceback_in_a_file(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def bug(args: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(version, "run", bug)
    assert cli.main(["version"]) == errors.INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("conveyor: internal error: ZeroDivisionError: a bug (traceback in ")
    crash = Path(err.rsplit("traceback in ", 1)[1].rstrip(")\n"))
    assert "ZeroDivisionError" in crash.read_text() and "Traceback" in crash.read_text()
    assert cli.main(["version", "--debug"]) == errors.INTERNAL  # --debug after the command
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_usage_errors_are_not_refusals() -> None:
    for argv in (["nosuch"], ["promote"], ["status", "--nosuch-option"], []):
        result = subprocess.run([*CONVEYOR, *argv], capture_output=True, text=True, timeout=60)
        assert result.returncode == errors.USAGE, (argv, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_malformed_digest_is_refused() -> None:
    result = subprocess.run([*CONVEYOR, "evidence", "sha256:abc"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == errors.REFUSED
    assert result.stderr.startswith("conveyor: not an image digest")


def test_a_broken_configuration_exits_78_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "conveyor.toml").write_text("[project\n")
    result = subprocess.run([*CONVEYOR, "metrics", "--repo", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == errors.CONFIG, result.stderr
    assert result.stderr.startswith("conveyor: conveyor.toml")


def test_version_and_help() -> None:
    for argv in (["--version"], ["-V"], ["version"]):
        result = subprocess.run([*CONVEYOR, *argv], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.startswith("conveyor 0."), argv
    helped = subprocess.run([*CONVEYOR, "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0
    for name in cli.COMMANDS:
        assert f"  {name} " in helped.stdout
    assert "post-receive" not in helped.stdout


def test_output_closed_early_is_not_a_traceback() -> None:
    """`conveyor … | head -1`: the reader goes away mid-output (far more than a pipe buffers);
    the command stops quietly with 141, as a process killed by SIGPIPE would."""
    program = ("from conveyor import cli\n"
               "from conveyor.commands import version\n"
               "version.run = lambda args: [print('x' * 99) for _ in range(50_000)] and 0\n"
               "raise SystemExit(cli.main(['version']))\n")
    shell = f"{sys.executable} -c \"$PROGRAM\" | head -1; echo \"${{PIPESTATUS[0]}}\" >&2"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PROGRAM": program})
    assert result.stdout == "x" * 99 + "\n"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert result.stderr.strip() == str(errors.BROKEN_PIPE)
