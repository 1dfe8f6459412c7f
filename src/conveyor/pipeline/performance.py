"""Stage `performance`: bounded load against the running image, judged by the pipeline's
thresholds and by a regression budget against the digest the last environment (the
configured order's, production by default) runs at the revision."""

from __future__ import annotations

from typing import Any

from conveyor.config import pins
from conveyor.config.model import Performance
from conveyor.errors import ConfigError, Refusal
from conveyor.git import plumbing as git
from conveyor.pipeline import loadtest, reports
from conveyor.pipeline import stack as service_stack
from conveyor.pipeline.context import StageContext, StageResult
from conveyor.records import evidence
from conveyor.util import charts

LATENCIES = ("p50_ms", "p95_ms", "p99_ms")


def run(ctx: StageContext) -> StageResult:
    perf = ctx.pipeline.performance
    digest = ctx.image().digest
    with service_stack.running(ctx, "performance") as stack:
        ctx.progress(f"performance: {perf.kind} {perf.target} for up to {perf.duration_s:g}s / "
                     f"{perf.max_requests} requests, {perf.concurrency} at a time")
        outcome = loadtest.run(loadtest.Load(
            perf.kind, stack.address, perf.target, perf.payload, perf.duration_s,
            perf.max_requests, perf.concurrency,
            tuple(ctx.workspace / p for p in ctx.pipeline.dependencies)))
    figures = outcome.figures()
    breaches = thresholds(perf, figures)
    if outcome.first_error:
        figures["first_error"] = outcome.first_error
    production, note = production_digest(ctx)
    baseline = baseline_figures(production) if production else None
    if production and baseline is None:
        note = f"no performance evidence for the production digest {production}"
    if baseline is not None:
        breaches += regressions(figures, baseline, perf.regression_pct)
        figures["baseline"] = {k: baseline.get(k) for k in (*LATENCIES, "rps")}
    ctx.progress(f"performance: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, p99 "
                 f"{figures['p99_ms']} ms, {figures['rps']} req/s, {figures['errors']} errors, "
                 f"shed {figures['shed_rate']:.1%}")
    ctx.progress(f"performance: regression check: {note}")
    report = {"service": ctx.service, "digest": digest, "figures": figures,
              "production_digest": production, "regression_check": note,
              "thresholds": {k: getattr(perf, k) for k in (*LATENCIES, "min_rps")},
              "regression_pct": perf.regression_pct, "breaches": breaches}
    paths = [
        reports.write_json(ctx.report("performance.json"), report),
        reports.write_text(ctx.report("performance.svg"),
                           charts.latency_chart(figures["distribution_ms"], ctx.service)),
        reports.write_junit(ctx.report("performance.xml"), "performance",
                            [("thresholds and regression budget", "; ".join(breaches) or None)]),
    ]
    summary = "; ".join(breaches) if breaches else (
        f"performance: p99 {figures['p99_ms']} ms, {figures['rps']} req/s within budget")
    return StageResult("performance", not breaches, digest, summary, figures,
                       tuple(str(p) for p in paths))


def thresholds(perf: Performance, figures: dict[str, Any]) -> list[str]:
    """The figures that broke the pipeline's absolute thresholds."""
    broken = []
    for key in LATENCIES:
        limit = getattr(perf, key)
        if limit is not None and figures[key] > limit:
            broken.append(f"{key} {figures[key]} > {limit:g} (threshold)")
    if perf.min_rps is not None and figures["rps"] < perf.min_rps:
        broken.append(f"rps {figures['rps']} < {perf.min_rps:g} (threshold)")
    if figures["errors"]:
        broken.append(f"errors {figures['errors']} of {figures['requests']} requests")
    return broken


def regressions(figures: dict[str, Any], baseline: dict[str, Any], pct: float) -> list[str]:
    """The figures worse than production's by more than `pct` percent."""
    broken = []
    for key in LATENCIES:
        before = baseline.get(key)
        if before and figures[key] > before * (1 + pct / 100):
            broken.append(f"{key} {figures[key]} > {before} + {pct:g}% (production)")
    before = baseline.get("rps")
    if before and figures["rps"] < before * (1 - pct / 100):
        broken.append(f"rps {figures['rps']} < {before} - {pct:g}% (production)")
    return broken


def production_digest(ctx: StageContext) -> tuple[str | None, str]:
    """The digest the last environment's overlay pins for this service at the revision, and a
    note."""
    environments = ctx.config.settings.environments
    if not environments:
        return None, "no environments configured: no regression check"
    last = environments[-1].name
    overlay = pins.relative_path(last)
    raw = git.show_file(ctx.repo, ctx.revision, overlay)
    if raw is None:
        return None, f"{overlay} does not exist yet: no regression check"
    try:
        pinned = pins.pins(pins.parse(raw, overlay))
    except ConfigError:
        return None, f"{overlay} is not a valid kustomization: no regression check"
    names = {ctx.service, ctx.pipeline.image}
    for name, digest in pinned.items():
        if name in names or name.endswith(f"/{ctx.service}"):
            return digest, f"compared with {last} {digest}"
    return None, f"{last} does not run {ctx.service} yet: no regression check"


def baseline_figures(digest: str) -> dict[str, Any] | None:
    try:
        records = evidence.for_digest(digest)
    except Refusal:
        return None
    passed = [e for e in records if e.stage == "performance" and e.passed]
    return dict(passed[-1].figures) if passed else None
