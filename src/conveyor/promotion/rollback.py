"""Rollback: promote the previous good digest again and freeze automatic promotion.

It goes through `promotion.promote` (and so through the promotion rule, with rollback=True:
the target must once have been verified in this environment). The freeze holds until
`conveyor unfreeze`.
"""

from __future__ import annotations

from conveyor.config.model import Config
from conveyor.promotion.promote import Outcome, actor_name, promote
from conveyor.records import evidence, ledger
from conveyor.util.progress import Progress


def rollback(config: Config, service: str, environment: str, *, central_url: str,
             to: str | None = None, actor: str | None = None, wait: bool = False,
             progress: Progress = print) -> Outcome:
    config.pipeline(service)
    config.settings.environment(environment)
    if to is not None:
        evidence.check_digest(to)
    actor = actor or actor_name()
    was_frozen = ledger.is_frozen(service, environment)
    ledger.freeze(service, environment, reason=f"rolled back by {actor}", actor=actor)
    try:
        outcome = promote(config, service, environment, central_url=central_url, digest=to,
                          actor=actor, rollback=True, wait=wait, progress=progress)
    except BaseException:
        if not was_frozen:
            ledger.unfreeze(service, environment)
        raise
    progress(f"automatic promotion of {service} to {environment} is frozen until "
             f"`conveyor unfreeze {service} --env {environment}`")
    return outcome


def unfreeze(config: Config, service: str, environment: str) -> bool:
    config.pipeline(service)
    config.settings.environment(environment)
    return ledger.unfreeze(service, environment)
