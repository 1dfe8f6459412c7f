"""Automatic promotion after a pipeline passed: test, then staging, as conveyor.toml says.

Each step goes through `promotion.promote` with automatic=True, so the promotion rule also
checks the branch (project.promote_branches), the environment's `automatic` flag and freezes.
Production (automatic = false) is left to a person with an approval.
"""

from __future__ import annotations

from conveyor.config.model import Config
from conveyor.errors import ConveyorError
from conveyor.promotion import identity
from conveyor.promotion.promote import promote
from conveyor.records import ledger

ACTOR = "conveyor-automatic"


def branch_of(ref: bytes | str) -> str | None:
    name = ref.decode("utf-8", "surrogateescape") if isinstance(ref, bytes) else ref
    return name.removeprefix("refs/heads/") if name.startswith("refs/heads/") else None


def after_pipeline(config: Config, *, service: str, digest: str, revision: str,
                   ref: bytes | str, repository: str) -> None:
    """Promote `digest` as far as the automatic environments go.

    A refusal or failure is raised (the run then exits `PROMOTION_FAILED`, and the ledger
    already holds the failed attempt); a branch that may not promote, a manual environment
    or a freeze are reported and end the walk normally.
    """
    branch = branch_of(ref)
    if branch is None or not config.settings.may_promote(branch):
        print(f"{service}: {ref!r} is not a branch allowed to promote; no promotion")
        return
    for env in config.settings.environments:
        if not env.automatic:
            print(f"{service}: {env.name} is promoted by hand: conveyor promote {service} "
                  f"--to {env.name} --digest {digest} --approve")
            return
        if ledger.is_frozen(service, env.name):
            print(f"{service}: automatic promotion to {env.name} is frozen; stopping here")
            return
        try:
            promote(config, service, env.name, central_url=repository, digest=digest,
                    actor=identity.system(ACTOR), automatic=True, branch=branch, wait=True)
        except ConveyorError as exc:
            print(f"{service}: not promoted to {env.name} (revision {revision[:12]}): {exc}")
            raise ConveyorError(f"{service}: automatic promotion to {env.name} failed: "
                                f"{str(exc).splitlines()[0]}") from None
