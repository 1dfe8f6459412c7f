"""Convergence: make an environment run exactly what its overlay in the central repository pins.

Git is the source of truth (GitOps): for each service, dependencies first, the pinned digest
is compared with what runs; a missing, stopped, unhealthy or different container is
redeployed from the rendered overlay and verified, and the outcome is recorded in the ledger
(actor: who ran it; reason `converge: …`). Nothing is committed: a pin is never changed here.

Called by `conveyor converge`, by `promote` (for the dependencies of the service it
promotes, inside its lock), by automatic promotion before each environment, and by the demo.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conveyor.config.model import Config, Environment
from conveyor.errors import ConveyorError
from conveyor.git import central
from conveyor.images import builder as images
from conveyor.images import containers
from conveyor.promotion import deploy, overlays, verify
from conveyor.records import evidence, ledger
from conveyor.util.locks import environment_lock
from conveyor.util.progress import Progress


@dataclass(frozen=True)
class Change:
    service: str
    environment: str
    pinned: str | None
    running: str | None  # before convergence
    action: str  # unchanged | redeployed | failed | unpinned
    detail: str = ""

    def as_dict(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)

    def line(self) -> str:
        short = (self.pinned or "-")[7:19] or "-"
        return f"{self.environment}: {self.service} {short} {self.action}" + (
            f": {self.detail}" if self.detail else "")


class ConvergenceFailed(ConveyorError):
    """Some service could not be brought to its pin; `changes` says what happened to all."""

    def __init__(self, changes: list[Change]) -> None:
        failed = [c for c in changes if c.action == "failed"]
        super().__init__("convergence failed: " + "; ".join(c.line() for c in failed))
        self.changes = changes


def converge(config: Config, central_url: str, *, environments: Iterable[str] | None = None,
             services: Iterable[str] | None = None, actor: str,
             progress: Progress = print) -> list[Change]:
    """Bring each environment (all, by default) to its pins; raise if any service failed."""
    settings = config.settings
    names = list(environments) if environments is not None else [
        e.name for e in settings.environments]
    changes: list[Change] = []
    for name in names:
        env = settings.environment(name)
        with environment_lock(env.name, wait=True):
            checkout = central.sync(central_url, settings.default_branch, f"promote-{env.name}")
            changes += converge_locked(config, env, checkout, services=services, actor=actor,
                                       progress=progress)
    if any(c.action == "failed" for c in changes):
        raise ConvergenceFailed(changes)
    return changes


def converge_locked(config: Config, env: Environment, checkout: Path, *,
                    services: Iterable[str] | None = None, actor: str,
                    progress: Progress = print) -> list[Change]:
    """The work of `converge` for one environment whose lock the caller holds."""
    wanted = config.in_dependency_order(services if services is not None else config.pipelines)
    documents: list[dict[str, object]] | None = None
    changes: list[Change] = []
    for service in wanted:
        pipeline = config.pipeline(service)
        pinned = overlays.pinned(checkout, env.name, pipeline)
        running = deploy.running_digest(config, env, pipeline)
        if pinned is None:
            changes.append(Change(service, env.name, None, running, "unpinned"))
            continue
        if documents is None:
            documents = overlays.render_and_validate(checkout, env.name)
        plan = deploy.plan(config, env.name, pipeline, documents)
        if running == pinned and _healthy(config, env, plan):
            changes.append(Change(service, env.name, pinned, running, "unchanged"))
            continue
        why = "not running" if running is None else (
            f"runs {running[7:19]}" if running != pinned else "not healthy")
        progress(f"{env.name}: {service} pins {pinned[7:19]} but {why}: redeploying")
        record = ledger.start(service=service, environment=env.name, digest=pinned,
                              previous=running, revision=_revision(pinned), actor=actor,
                              reason=f"converge: {why}")
        try:
            ledger.advance(record, "committed", commit_id=central.head(checkout))
            if not env.cluster_context:
                images.ensure_image(plan.image)  # pulled by digest; the swap proves it healthy
            deploy.apply(config, env, plan, checkout, progress)
            ledger.advance(record, "deployed")
            verify.run(config, env.name, pipeline, checkout, digest=pinned,
                       revision=_revision(pinned), progress=progress)
        except ConveyorError as exc:
            ledger.advance(record, "failed", failure=exc)
            progress(f"{env.name}: {service} could not be brought to {pinned[7:19]}: {exc}")
            changes.append(Change(service, env.name, pinned, running, "failed",
                                  str(exc).splitlines()[0]))
            continue
        ledger.advance(record, "verified")
        changes.append(Change(service, env.name, pinned, running, "redeployed", why))
        progress(f"{env.name}: {service} {pinned[7:19]} redeployed and verified")
    return changes


def _healthy(config: Config, env: Environment, plan: deploy.Plan) -> bool:
    if env.cluster_context:
        return True  # the cluster's own controllers keep a Deployment's pods healthy
    try:
        return containers.is_healthy(deploy.address(config, env.name, plan.service),
                                     plan.health)
    except OSError:
        return False


def _revision(digest: str) -> str | None:
    build = evidence.latest_by_stage(evidence.for_digest(digest)).get("build")
    return build.revision if build else None
