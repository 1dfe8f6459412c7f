"""Stage `performance`: bounded load against the running image, judged by the pipeline's
thresholds and by a regression budget against the digest the last environment (the
configured order's, production by default) pins at the revision.

The production digest is started beside the one under test and both get the same load,
taking turns, so the comparison is made under the same machine load (as a ratio); its
recorded figures are used only when it cannot run here."""

from __future__ import annotations

from typing import Any

from conveyor.config import pins
from conveyor.config.model import Performance
from conveyor.errors import ConfigError, ConveyorError, Refusal
from conveyor.git import plumbing as git
from conveyor.images import builder as images
from conveyor.pipeline import loadtest, reports
from conveyor.pipeline import stack as service_stack
from conveyor.pipeline.context import StageContext, StageResult
from conveyor.records import evidence
from conveyor.util import charts

LATENCIES = ("p50_ms", "p95_ms", "p99_ms")


def run(ctx: StageContext) -> StageResult:
    perf = ctx.pipeline.performance
    digest = ctx.image().digest
    production, note = production_digest(ctx)
    with service_stack.running(ctx, "performance") as stack:
        baseline_address = _start_baseline(ctx, stack, production, digest)
        ctx.progress(f"performance: {perf.kind} {perf.target} for up to {perf.duration_s:g}s / "
                     f"{perf.max_requests} requests, {perf.concurrency} at a time"
                     + (f", interleaved with production's {production}" if baseline_address
                        else ""))
        outcome, measured = _measure(ctx, stack.address, baseline_address)
    figures = outcome.figures()
    breaches = thresholds(perf, figures)
    if outcome.first_error:
        figures["first_error"] = outcome.first_error
    if measured is not None:
        baseline: dict[str, Any] | None = measured.figures()
        note += " (measured in this run, interleaved)"
    else:
        baseline = baseline_figures(production) if production and production != digest else None
        if production and production != digest and baseline is None:
            note = f"no performance evidence for the production digest {production}"
        elif baseline is not None:
            note += " (its recorded figures: measured at another time)"
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


def _start_baseline(ctx: StageContext, stack: service_stack.Stack, production: str | None,
                    digest: str) -> str | None:
    """Production's image of the service beside the one under test, so both are measured
    under the same machine load; None when there is none to compare (or it cannot start)."""
    if production is None or production == digest:
        return None
    image = ctx.image()
    baseline = images.Image(ctx.service, "", production, image.repository, "")
    try:
        return service_stack.start_also(ctx, stack, baseline, "performance")
    except ConveyorError as exc:
        ctx.progress(f"performance: production's {production} cannot run here "
                     f"({str(exc).splitlines()[0]}); comparing with its recorded figures")
        return None


def _measure(ctx: StageContext, address: str,
             baseline: str | None) -> tuple[loadtest.Outcome, loadtest.Outcome | None]:
    """The load against `address`; with a baseline, each gets the same load in two halves,
    taking turns (baseline, candidate, candidate, baseline), so neither is favoured by when
    it ran."""
    perf = ctx.pipeline.performance
    roots = tuple(ctx.workspace / p for p in ctx.pipeline.dependencies)

    def load(target: str, share: int) -> loadtest.Outcome:
        return loadtest.run(loadtest.Load(
            perf.kind, target, perf.target, perf.payload, perf.duration_s / share,
            max(1, perf.max_requests // share), perf.concurrency, roots))

    if baseline is None:
        return load(address, 1), None
    base_1, cand_1 = load(baseline, 2), load(address, 2)
    cand_2, base_2 = load(address, 2), load(baseline, 2)
    return loadtest.merge(cand_1, cand_2), loadtest.merge(base_1, base_2)


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
