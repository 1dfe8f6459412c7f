"""`conveyor promote --resume`: finish or cleanly abandon a promotion a crash interrupted.

The ledger says how far it got; the central repository says whether it was published.
Published (the overlay pins its digest): finish it, deploy and verify, through the same
promotion code and rule. Not published: nothing changed anywhere, so mark it abandoned.
"""

from __future__ import annotations

from conveyor.config.model import Config
from conveyor.git import central
from conveyor.promotion import overlays
from conveyor.promotion.promote import Outcome, promote
from conveyor.records import ledger
from conveyor.util.locks import environment_lock
from conveyor.util.progress import Progress


def resume(config: Config, service: str, environment: str, *, central_url: str,
           progress: Progress = print) -> Outcome | None:
    pipeline = config.pipeline(service)
    env = config.settings.environment(environment)
    # Holding the lock proves no promotion is running: an unfinished record is a crash's.
    with environment_lock(env.name):
        record = ledger.unfinished(service, env.name)
        if record is None:
            progress(f"no interrupted promotion of {service} in {env.name}: nothing to resume")
            return None
        checkout = central.sync(central_url, config.settings.default_branch,
                                f"promote-{env.name}")
        published = overlays.pinned(checkout, env.name, pipeline) == record.digest
        ledger.advance(record.id, "abandoned")
    if not published:
        progress(f"promotion #{record.id} of {record.digest} was never published: abandoned; "
                 f"{env.name} is as it was")
        return None
    progress(f"promotion #{record.id} of {record.digest} was published ({record.phase}): "
             "finishing it")
    return promote(config, service, env.name, central_url=central_url, digest=record.digest,
                   actor=record.actor, approver=record.approver,
                   override_reason=record.reason, rollback=record.rollback, wait=True,
                   progress=progress)
