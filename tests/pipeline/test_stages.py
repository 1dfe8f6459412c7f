"""Unit, integration and performance stages against the image the build stage made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conveyor.pipeline import runner as stage_runner
from conveyor.records import evidence

from .conftest import commit, ours_running, stage_context, write

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("no_containers_left")]


def test_unit_then_integration_with_a_dependency_pass_and_are_recorded(monorepo: Path) -> None:
    lines: list[str] = []
    ctx = stage_context(monorepo, "greeter", lines)
    built = stage_runner.run(ctx, "build")
    unit = stage_runner.run(ctx, "unit")
    integration = stage_runner.run(ctx, "integration")

    assert unit.passed, unit.summary
    assert unit.figures["tests"] == 1
    assert integration.passed, "\n".join(lines[-30:])
    assert "names" in integration.figures["dependencies"]
    assert (ctx.reports / "integration.xml").is_file()
    assert built.digest
    proved = evidence.passed_stages(built.digest)
    assert proved == {"build", "unit", "integration"}


def test_a_failing_integration_test_fails_the_stage_and_the_evidence_says_so(
        monorepo: Path) -> None:
    write(monorepo, "services/names/tests/integration/test_broken.py", """
        def test_broken():
            assert False, "names is broken"
        """)
    commit(monorepo, "a failing integration test")
    ctx = stage_context(monorepo, "names")
    stage_runner.run(ctx, "build")
    result = stage_runner.run(ctx, "integration")

    assert not result.passed
    assert result.figures["failures"] == 1
    assert result.digest
    latest = evidence.latest_by_stage(evidence.for_digest(result.digest))
    assert latest["integration"].result == "failed"
    assert any(path.endswith(".log") and "integration-conveyor" in path
               for path in result.reports), "container logs kept with the report"


def test_a_broken_performance_budget_fails_with_the_figure(monorepo: Path) -> None:
    toml = monorepo / "pipelines/names.toml"
    toml.write_text(toml.read_text().replace("p99_ms = 500", "p99_ms = 0.001"))
    commit(monorepo, "an impossible budget")
    ctx = stage_context(monorepo, "names")
    stage_runner.run(ctx, "build")
    result = stage_runner.run(ctx, "performance")

    assert not result.passed
    assert "p99_ms" in result.summary and "> 0.001" in result.summary
    report = json.loads((ctx.reports / "performance.json").read_text())
    assert report["figures"]["requests"] > 0
    assert "no regression check" in report["regression_check"]
    assert (ctx.reports / "performance.svg").read_text().startswith("<svg")


def test_the_regression_budget_measures_production_beside_the_candidate(
        monorepo: Path) -> None:
    """Production's digest is started beside the one under test and both take turns under
    the same load, so a regression is judged under the same machine load."""
    production = stage_runner.run(stage_context(monorepo, "names"), "build").digest
    write(monorepo, "k8s/overlays/production/kustomization.yaml",
          f"images:\n- name: names\n  newName: x/names\n  digest: {production}\n")
    app = (monorepo / "services/names/app.py").read_text()
    slower = 'if self.path == "/name":\n            __import__("time").sleep(0.03)'
    write(monorepo, "services/names/app.py",  # 30 ms slower per request
          app.replace('if self.path == "/name":', slower))
    commit(monorepo, "a slower names, with production pinned")
    ctx = stage_context(monorepo, "names")
    assert stage_runner.run(ctx, "build").digest != production
    result = stage_runner.run(ctx, "performance")

    assert not result.passed
    assert "p50_ms" in result.summary and "(production)" in result.summary
    report = json.loads((ctx.reports / "performance.json").read_text())
    assert report["production_digest"] == production
    assert "measured in this run, interleaved" in report["regression_check"]
    assert report["figures"]["baseline"]["p50_ms"] < 30 <= report["figures"]["p50_ms"]
    assert ours_running() == []  # both images and the stack are gone


def test_a_production_image_that_cannot_run_here_is_judged_by_its_recorded_figures(
        monorepo: Path) -> None:
    absent = "sha256:" + "e" * 64  # pinned, but in no registry
    fast = {"p50_ms": 0.001, "p95_ms": 0.001, "p99_ms": 0.001, "rps": 1e9}
    evidence.record(evidence.Evidence("names", absent, "performance", "passed", "f" * 40,
                                      figures=fast))
    write(monorepo, "k8s/overlays/production/kustomization.yaml",
          f"images:\n- name: names\n  newName: x/names\n  digest: {absent}\n")
    commit(monorepo, "names in production")
    ctx = stage_context(monorepo, "names")
    stage_runner.run(ctx, "build")
    result = stage_runner.run(ctx, "performance")

    assert not result.passed
    assert "(production)" in result.summary
    report = json.loads((ctx.reports / "performance.json").read_text())
    assert "its recorded figures" in report["regression_check"]


def test_ctrl_c_during_a_stage_still_tears_everything_down(monorepo: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from conveyor.pipeline import loadtest

    def interrupted(_load: loadtest.Load) -> loadtest.Outcome:
        assert ours_running(), "the service runs while the load would be sent"
        raise KeyboardInterrupt

    monkeypatch.setattr(loadtest, "run", interrupted)
    ctx = stage_context(monorepo, "greeter")
    stage_runner.run(ctx, "build")
    with pytest.raises(KeyboardInterrupt):
        stage_runner.run(ctx, "performance")
