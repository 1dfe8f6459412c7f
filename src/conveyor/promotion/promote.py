"""Promote one image digest of one service into one environment — the only code that does.

The CLI, the Jenkins stage, automatic promotion and rollback all call `promote`. Under the
environment's lock it: syncs a private clone of the central repository, gathers the facts and
asks `eligibility.is_promotable`, pins the digest in the overlay, renders and validates it,
proves the new container healthy, commits as the promotion identity and pushes (re-checking
policy after a non-fast-forward), deploys, verifies, and records each phase. Any failure after
the push restores the previous digest in git and in the environment.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.config.model import Config, Environment, Pipeline
from conveyor.errors import ConveyorError, Refusal, Retryable
from conveyor.git import central
from conveyor.images import builder as images
from conveyor.promotion import converge, deploy, eligibility, identity, overlays, verify
from conveyor.records import evidence, ledger
from conveyor.util.crashpoints import crash_point
from conveyor.util.locks import environment_lock
from conveyor.util.progress import Progress

PUSH_ATTEMPTS = 3


@dataclass
class Outcome:
    service: str
    environment: str
    digest: str
    previous: str | None
    status: str = "promoted"  # promoted | unchanged
    commit_id: str | None = None
    record_id: int | None = None
    timings: dict[str, float] = field(default_factory=dict)


Who = identity.Actor | str | None


def actor_name() -> str:
    """The operating-system account running this process; never a variable the caller sets."""
    return identity.current().name


def as_actor(who: Who, default: identity.Actor | None = None) -> identity.Actor | None:
    """An in-process caller may name an actor (tests, automatic promotion); the CLI passes
    `identity.current()` or the Jenkins-authenticated user, never a declared name."""
    if isinstance(who, str):
        return identity.Actor(who, "named")
    return who if who is not None else default


def gather(config: Config, pipeline: Pipeline, env: Environment, digest: str, *,
           approver: str | None = None, override_reason: str | None = None,
           rollback: bool = False, automatic: bool = False,
           branch: str | None = None, approver_authorised: bool = True,
           override_authorised: bool = True) -> eligibility.Request:
    """The facts the promotion rule needs, read from the evidence and promotion records."""
    previous = config.settings.previous_environment(env.name)
    latest = evidence.latest_by_stage(evidence.for_digest(digest))
    build = latest.get("build")
    image = f"{config.settings.registry.address}/{pipeline.image}@{digest}"
    return eligibility.Request(
        service=pipeline.name, environment=env.name, digest=digest, requires=env.requires,
        evidence={stage: record.result for stage, record in latest.items()},
        previous_environment=previous.name if previous else None,
        verified_in_previous=bool(previous) and ledger.is_verified(
            pipeline.name, previous.name if previous else "", digest),
        approval_required=env.approval, approver=approver, override_reason=override_reason,
        approver_authorised=approver_authorised, override_authorised=override_authorised,
        rollback=rollback, verified_here_before=ledger.is_verified(pipeline.name, env.name,
                                                                  digest),
        automatic=automatic, environment_automatic=env.automatic, branch=branch,
        branch_may_promote=branch is None or config.settings.may_promote(branch),
        frozen=ledger.is_frozen(pipeline.name, env.name),
        image_revision=None if env.cluster_context else images.labelled_revision(image),
        # the build record's revision: a reused image keeps the commit it was built from
        evidence_revision=images.revision_of(digest) or (build.revision if build else None),
    )


def promote(config: Config, service: str, environment: str, *, central_url: str,
            digest: str | None = None, from_env: str | None = None, actor: Who = None,
            approver: Who = None, override_reason: str | None = None,
            rollback: bool = False, automatic: bool = False, branch: str | None = None,
            wait: bool = False, progress: Progress = print,
            extra_approvers: tuple[str, ...] = ()) -> Outcome:
    """`extra_approvers`: names allowed besides conveyor.toml's lists (the demo's own user)."""
    pipeline = config.pipeline(service)
    env = config.settings.environment(environment)
    if digest is not None:
        evidence.check_digest(digest)
    if (digest is None) == (from_env is None) and not rollback:
        raise Refusal("give exactly one of --digest or --from")
    if from_env is not None:
        config.settings.environment(from_env)
    if override_reason is not None and not override_reason.strip():
        raise Refusal("--override needs a non-empty --reason")
    who = as_actor(actor, identity.current())
    assert who is not None
    approved_by = as_actor(approver)
    authority = {
        "approver_authorised": approved_by is not None and identity.may_approve(
            approved_by, env, extra_approvers),
        "override_authorised": identity.may_override(who, env, extra_approvers),
    }
    actor, approver = who.name, (approved_by.name if approved_by else None)
    settings = config.settings
    started = time.monotonic()
    with environment_lock(env.name, wait=wait):
        checkout = central.sync(central_url, settings.default_branch, f"promote-{env.name}")
        current = overlays.pinned(checkout, env.name, pipeline)
        if from_env is not None:
            digest = overlays.pinned(checkout, from_env, pipeline)
            if digest is None:
                raise Refusal(f"{from_env} pins no digest for {service}")
        if rollback and digest is None:
            digest = ledger.previous_good(service, env.name, current)
            if digest is None:
                raise Refusal(f"no earlier verified digest of {service} in {env.name} "
                              "to roll back to")
        assert digest is not None
        outcome = Outcome(service, env.name, digest, current)
        if current == digest and deploy.running_digest(config, env, pipeline) == digest:
            outcome.status = "unchanged"
            progress(f"{service} {digest} is already pinned and running in {env.name}: "
                     "nothing to do")
            return outcome
        request = gather(config, pipeline, env, digest, approver=approver,
                         override_reason=override_reason, rollback=rollback,
                         automatic=automatic, branch=branch, **authority)
        decision = eligibility.is_promotable(request)
        if not decision.allowed:
            raise Refusal(decision.explain(request))
        if decision.overridden:
            progress(f"override recorded: {'; '.join(decision.overridden)} (by {actor})")
        outcome.timings["decision"] = time.monotonic() - started

        # What this service needs must run as pinned first, or its readiness never passes.
        needs = [n for n in config.in_dependency_order(pipeline.integration.needs)
                 if n != service]
        if needs:
            broken = [c for c in converge.converge_locked(
                config, env, checkout, services=needs, actor=actor, progress=progress)
                if c.action == "failed"]
            if broken:
                raise ConveyorError(f"cannot promote {service} to {env.name}: what it needs "
                                    "does not run as pinned: "
                                    + "; ".join(c.line() for c in broken))

        mark = time.monotonic()
        changed = overlays.set_pin(checkout, env.name, settings, pipeline, digest)
        plan = deploy.plan(config, env.name, pipeline,
                           overlays.render_and_validate(checkout, env.name))
        rendered = time.monotonic() - mark
        revision = _revision(digest)
        # Recorded before the trial deploy, so a digest that never gets healthy is a visible
        # `failed` outcome (ledger, status, the demo), not an attempt that left no trace.
        record = ledger.start(service=service, environment=env.name, digest=digest,
                              previous=current, revision=revision, actor=actor,
                              approver=approver, reason=override_reason, rollback=rollback)
        outcome.record_id = record
        mark = time.monotonic()
        try:
            deploy.prepare(config, env, plan, progress)  # pulled and healthy before publishing
        except BaseException as exc:
            ledger.advance(record, "failed", failure=exc)
            raise
        outcome.timings["prepare"] = time.monotonic() - mark

        mark = time.monotonic()
        crash_point("promote-before-push")
        try:
            message = _message(pipeline, env, digest, request, approver, actor,
                               override_reason, rollback)
            recheck = functools.partial(_decide, config, pipeline, env, digest, approver=approver,
                                        override_reason=override_reason, rollback=rollback,
                                        automatic=automatic, branch=branch, **authority)
            outcome.commit_id = (_publish(config, checkout, env, pipeline, digest, message,
                                          recheck, progress)
                                 if changed else central.head(checkout))
        except BaseException as exc:
            ledger.advance(record, "failed", failure=exc)
            raise
        ledger.advance(record, "committed", commit_id=outcome.commit_id)
        crash_point("promote-after-push")
        outcome.timings["commit"] = time.monotonic() - mark + rendered

        mark = time.monotonic()
        try:
            where = deploy.apply(config, env, plan, checkout, progress)
            ledger.advance(record, "deployed")
            outcome.timings["deploy"] = time.monotonic() - mark + outcome.timings.pop("prepare")
            progress(f"{service} {digest} deployed in {env.name} at {where}")
            mark = time.monotonic()
            verify.run(config, env.name, pipeline, checkout, digest=digest, revision=revision,
                       progress=progress)
            outcome.timings["verify"] = time.monotonic() - mark
        except Exception as exc:
            progress(f"{service} in {env.name} failed: {exc}")
            try:
                _restore(config, checkout, env, pipeline, failed=digest, previous=current,
                         actor=actor, progress=progress)
            except Exception as again:
                ledger.advance(record, "failed", failure=f"{ledger.one_line(exc)}; restoring "
                               f"{current or 'nothing'} failed too: {ledger.one_line(again)}")
                raise ConveyorError(f"promotion of {service} {digest} to {env.name} failed "
                                    f"({exc}) and restoring {current} failed too: {again}"
                                    ) from None
            ledger.advance(record, "rolled-back", failure=exc)
            raise ConveyorError(f"promotion of {service} {digest} to {env.name} failed and was "
                                f"rolled back to {current or 'nothing'}: {exc}") from None
        ledger.advance(record, "verified")
        progress(f"{service} {digest} verified in {env.name}")
        return outcome


def _decide(config: Config, pipeline: Pipeline, env: Environment, digest: str,
            **facts: Any) -> eligibility.Decision:
    return eligibility.is_promotable(gather(config, pipeline, env, digest, **facts))


def _revision(digest: str) -> str | None:
    build = evidence.latest_by_stage(evidence.for_digest(digest)).get("build")
    return build.revision if build else None


def _message(pipeline: Pipeline, env: Environment, digest: str,
             request: eligibility.Request | None, approver: str | None, actor: str,
             reason: str | None, rollback: bool) -> str:
    verb = "roll back" if rollback else "promote"
    proof = ",".join(f"{s}={r}" for s, r in sorted((request.evidence if request else {}).items()))
    lines = [f"{verb} {pipeline.name} in {env.name} to {digest}", "",
             f"Conveyor-Digest: {digest}", f"Conveyor-Service: {pipeline.name}",
             f"Conveyor-Environment: {env.name}", f"Conveyor-Evidence: {proof or 'none'}",
             f"Conveyor-Approved-By: {approver or 'none'}", f"Conveyor-Actor: {actor}"]
    if reason:
        lines.append(f"Conveyor-Override: {' '.join(reason.split())}")
    if rollback:
        lines.append("Conveyor-Rollback: true")
    return "\n".join(lines) + "\n"


def _publish(config: Config, checkout: Path, env: Environment, pipeline: Pipeline,
             digest: str | None, message: str,
             recheck: Callable[[], eligibility.Decision] | None, progress: Progress) -> str:
    """Commit the overlay and push it; on a non-fast-forward re-apply on top and re-check."""
    settings = config.settings
    path = overlays.relative_path(env.name)
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        commit_id = central.commit(checkout, [path], message, settings.policy.promotion_identity)
        if central.push(checkout, settings.default_branch):
            return commit_id
        progress(f"the central repository moved on (attempt {attempt}); re-applying on top")
        central.sync_existing(checkout, settings.default_branch)
        if recheck is not None:
            decision = recheck()
            if not decision.allowed:
                raise Refusal("after the central repository moved on: "
                              + "; ".join(decision.missing))
        if not overlays.set_pin(checkout, env.name, settings, pipeline, digest):
            return central.head(checkout)  # someone else already published the same state
        overlays.render_and_validate(checkout, env.name)
    raise Retryable(f"push to the central repository rejected {PUSH_ATTEMPTS} times; try again")


def _restore(config: Config, checkout: Path, env: Environment, pipeline: Pipeline, *,
             failed: str, previous: str | None, actor: str, progress: Progress) -> None:
    """Put back `previous` (or nothing) in git and in the environment after a failure."""
    central.sync_existing(checkout, config.settings.default_branch)
    reason = f"automatic: {failed} failed in {env.name}"
    record = None
    if previous is not None:
        record = ledger.start(service=pipeline.name, environment=env.name, digest=previous,
                              previous=failed, revision=_revision(previous), actor=actor,
                              reason=reason, rollback=True)
    try:
        if overlays.set_pin(checkout, env.name, config.settings, pipeline, previous):
            message = _message(pipeline, env, previous or failed, None, None, actor, reason, True)
            _publish(config, checkout, env, pipeline, previous, message, None, progress)
        if record is not None:
            ledger.advance(record, "committed", commit_id=central.head(checkout))
        if previous is None:
            deploy.remove(env, pipeline.name)
            return
        if deploy.running_digest(config, env, pipeline) != previous:
            plan = deploy.plan(config, env.name, pipeline,
                               overlays.render_and_validate(checkout, env.name))
            deploy.apply(config, env, plan, checkout, progress)
        assert record is not None
        ledger.advance(record, "deployed")
        verify.run(config, env.name, pipeline, checkout, digest=previous,
                   revision=_revision(previous), progress=progress)
        ledger.advance(record, "verified")
        progress(f"{pipeline.name} in {env.name} rolled back to {previous}")
    except BaseException as exc:
        if record is not None:
            ledger.advance(record, "failed", failure=exc)
        raise
