"""The package's shape holds: the import layers of pyproject.toml, and a light hook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What the hooks must not import at start-up: each costs a push milliseconds (measured cold:
# dataclasses 30 ms, typing 18 ms, pathlib 17 ms, subprocess 13 ms), or far more.
HEAVY = ("subprocess", "typing", "dataclasses", "sqlite3", "pathlib", "threading", "tomllib",
         "json", "re", "logging", "argparse", "docker", "requests", "jenkins", "yaml")


def test_the_import_layers_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def test_the_hook_entry_imports_nothing_heavy() -> None:
    probe = ("import sys\n"
             "from conveyor.intake.hook import entry\n"
             "print(' '.join(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-P", "-c", probe], capture_output=True, text=True,
                            timeout=60, check=True)
    loaded = set(result.stdout.split())
    assert "conveyor.intake.hook" in loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_the_old_shim_entry_still_answers() -> None:
    """Shims installed before the package was regrouped call conveyor.hook.entry."""
    from conveyor import hook
    from conveyor.intake import hook as intake_hook

    assert hook.entry is intake_hook.entry
