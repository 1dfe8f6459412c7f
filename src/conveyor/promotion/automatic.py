"""Automatic promotion after a pipeline passed: test, then staging, as conveyor.toml says.

Each step asks the promotion rule (`eligibility.is_promotable` with automatic=True: the
branch, project.promote_branches, the environment's `automatic` flag, freezes, evidence), then
goes through `promotion.promote`. Production (automatic = false) is left to a person with an
approval.
"""

from __future__ import annotations

from conveyor.config.model import Config
from conveyor.errors import ConveyorError
from conveyor.promotion import eligibility, identity
from conveyor.promotion.promote import Outcome, gather, promote
from conveyor.util.progress import Progress

ACTOR = "conveyor-automatic"


def branch_of(ref: bytes | str) -> str | None:
    name = ref.decode("utf-8", "surrogateescape") if isinstance(ref, bytes) else ref
    return name.removeprefix("refs/heads/") if name.startswith("refs/heads/") else None


def promote_into(config: Config, service: str, environment: str, digest: str, *,
                 ref: bytes | str, central_url: str, progress: Progress = print) -> Outcome | None:
    """One automatic promotion, by the promotion rule; None (after printing "skipped: why")
    when the rule says no: a ref that is not a promoting branch, a manual or frozen
    environment, missing evidence. The local run and the Jenkinsfile's stages both call it."""
    env = config.settings.environment(environment)
    branch = branch_of(ref)
    if branch is None:
        progress(f"skipped: {ref!r} is not a branch; only branches promote automatically")
        return None
    request = gather(config, config.pipeline(service), env, digest, automatic=True,
                     branch=branch)
    decision = eligibility.is_promotable(request)
    if not decision.allowed:
        progress(f"skipped: {decision.explain(request)}")
        return None
    return promote(config, service, env.name, central_url=central_url, digest=digest,
                   actor=identity.system(ACTOR), automatic=True, branch=branch, wait=True,
                   progress=progress)


def after_pipeline(config: Config, *, service: str, digest: str, revision: str,
                   ref: bytes | str, repository: str, progress: Progress = print) -> None:
    """Promote `digest` as far as the automatic environments go, in order.

    The walk stops at the first environment the rule keeps it out of (a manual environment
    such as production, a freeze, a branch that does not promote). A failure is raised (the
    run then exits `PROMOTION_FAILED`; the ledger already holds the failed attempt).
    """
    for env in config.settings.environments:
        try:
            outcome = promote_into(config, service, env.name, digest, ref=ref,
                                   central_url=repository, progress=progress)
        except ConveyorError as exc:
            progress(f"{service}: not promoted to {env.name} (revision {revision[:12]}): {exc}")
            raise ConveyorError(f"{service}: automatic promotion to {env.name} failed: "
                                f"{str(exc).splitlines()[0]}") from None
        if outcome is None:
            if not env.automatic:
                progress(f"{service}: {env.name} is promoted by hand: conveyor promote {service} "
                      f"--env {env.name} --digest {digest} --approve")
            return
