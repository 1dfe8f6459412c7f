"""The promotion rule: one pure function, called by every path that promotes.

`is_promotable(request)` looks only at the facts it is given (no I/O) and answers with a
decision that lists exactly what is missing. The CLI, the Jenkins stage, automatic promotion
and rollback all gather the facts (`promotion.gather`) and ask this function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    service: str
    environment: str
    digest: str
    requires: tuple[str, ...]  # stages the environment's policy requires
    evidence: Mapping[str, str]  # stage -> result of the latest record ("passed"/"failed")
    previous_environment: str | None  # None for the first environment
    verified_in_previous: bool  # deployed and verified in the previous environment
    approval_required: bool = False
    approver: str | None = None
    approver_authorised: bool = True  # the approver is in the environment's approvers
    override_reason: str | None = None  # an explicit, recorded skip of the previous env
    override_authorised: bool = True  # the actor may override into this environment
    rollback: bool = False
    verified_here_before: bool = False  # for rollback: this digest once served here
    automatic: bool = False  # the automatic path (after a pipeline)
    environment_automatic: bool = True
    branch: str | None = None  # the pushed branch, for the automatic path
    branch_may_promote: bool = True
    frozen: bool = False  # automatic promotion frozen for this service and environment
    image_revision: str | None = None  # the image's org.opencontainers.image.revision label
    evidence_revision: str | None = None  # the commit the build records say it was built from


@dataclass(frozen=True)
class Decision:
    allowed: bool
    missing: tuple[str, ...] = ()
    overridden: tuple[str, ...] = field(default=())

    def explain(self, request: Request) -> str:
        target = f"{request.service} {request.digest[:19]}… to {request.environment}"
        if self.allowed:
            extra = f" (override: {'; '.join(self.overridden)})" if self.overridden else ""
            return f"{target}: allowed{extra}"
        return f"{target}: refused; missing: " + "; ".join(self.missing)


def is_promotable(request: Request) -> Decision:
    missing: list[str] = []
    overridden: list[str] = []

    if request.automatic:
        if not request.branch_may_promote:
            missing.append(f"branch {request.branch!r} is not allowed to promote "
                           "(project.promote_branches)")
        if not request.environment_automatic:
            missing.append(f"{request.environment} is promoted by hand, not automatically")
        if request.frozen:
            missing.append(f"automatic promotion of {request.service} to {request.environment} "
                           f"is frozen (conveyor unfreeze {request.service} "
                           f"--env {request.environment})")

    if (request.image_revision and request.evidence_revision
            and request.image_revision != request.evidence_revision):
        missing.append(f"provenance: the image says it was built from "
                       f"{request.image_revision[:12]}, its build record says "
                       f"{request.evidence_revision[:12]}")

    for stage in request.requires:
        result = request.evidence.get(stage)
        if result != "passed":
            state = "no record" if result is None else f"latest record {result}"
            missing.append(f"evidence: stage {stage} has not passed ({state})")

    if request.rollback:
        if not request.verified_here_before:
            missing.append(f"rollback target was never verified in {request.environment}")
    elif request.previous_environment and not request.verified_in_previous:
        gap = f"not verified in {request.previous_environment} (the previous environment)"
        if request.override_reason and not request.automatic:
            if request.override_authorised:
                overridden.append(f"{gap}: {request.override_reason}")
            else:
                missing.append(f"{gap}; the override is refused: the actor is not among "
                               f"{request.environment}'s overriders (conveyor.toml "
                               f"environments.{request.environment}.overriders, else approvers)")
        else:
            missing.append(f"{gap}; use --override --reason TEXT to skip it")

    if request.approval_required and not request.rollback:
        if not request.approver:
            missing.append(f"approval: {request.environment} needs an approver (--approve, "
                           "or the Jenkins input step)")
        elif not request.approver_authorised:
            missing.append(f"approval: {request.approver} is not among {request.environment}'s "
                           f"approvers (conveyor.toml environments.{request.environment}"
                           ".approvers)")

    return Decision(not missing, tuple(missing), tuple(overridden))
