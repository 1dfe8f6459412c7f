"""Settings that depend on the machine: how many server processes by default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from password_strength.settings import SettingsError, default_processes, from_env


def test_processes_follow_the_cgroup_cpu_quota(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("50000 100000\n")  # a 500m limit
    assert default_processes(cpu_max) == 1
    cpu_max.write_text("max 100000\n")
    assert default_processes(cpu_max) == cores
    assert default_processes(tmp_path / "missing") == cores


def test_bound_processes_and_log_level_from_the_environment() -> None:
    config = from_env({"PROCESSES": "3", "MAX_IN_FLIGHT": "5", "LOG_LEVEL": "debug"})
    assert (config.processes, config.max_in_flight, config.log_level) == (3, 5, "DEBUG")
    for bad in ({"MAX_IN_FLIGHT": "0"}, {"PROCESSES": "x"}, {"LOG_LEVEL": "loud"}):
        with pytest.raises(SettingsError):
            from_env(bad)
