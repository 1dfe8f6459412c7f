"""perf/load.py stays on 127.0.0.0/8 and within its bounds, and summarises correctly."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "perf" / "load.py"


@pytest.fixture(scope="module")
def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gateway_perf_load", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("url", ["http://10.0.0.1:8080", "http://example.invalid",
                                 "http://[::2]:80", "http://0.0.0.0:8080"])
def test_refuses_targets_off_loopback(load: ModuleType, url: str) -> None:
    with pytest.raises(SystemExit) as refused:
        load.main(["--url", url])
    assert refused.value.code == 2


@pytest.mark.parametrize("args", [["--duration", "61"], ["--requests", "100001"],
                                  ["--concurrency", "0"], ["--duration", "-1"]])
def test_refuses_unbounded_runs(load: ModuleType, args: list[str]) -> None:
    with pytest.raises(SystemExit):
        load.main(["--url", "http://127.0.0.1:1", *args])


def test_summary(load: ModuleType) -> None:
    summary = load.summarise([float(n) for n in range(1, 101)], Counter({"200": 100}), 2.0)
    assert summary["rps"] == 50.0
    assert (summary["p50_ms"], summary["p99_ms"], summary["max_ms"]) == (51.0, 100.0, 100.0)
