"""What runs where: services × environments, plus each service's latest pipeline run.

`collect(config, central)` returns the JSON shape the dashboard renders:
{"services": {SVC: {"environments": {ENV: {"pinned", "running", "drift", "revision",
"promoted_at", "promoted_by", "stages_passed", "frozen", "last_failure"}},
"last_pipeline": {...} | null}}, "environments": [ENV, ...]}
Pinned digests come from the central repository (git is the source of truth); running
digests from the environment itself; drift is pinned ≠ running. `last_failure` is the newest
attempt to change the environment when it failed (a promotion, a converge): {"digest",
"phase", "reason", "attempt", "actor", "at"}, else null.
"""

from __future__ import annotations

from typing import Any

from conveyor.config.model import Config
from conveyor.git import central as central_repo
from conveyor.promotion import deploy, overlays
from conveyor.records import evidence, ledger, runs
from conveyor.util.locks import named_lock


def collect(config: Config, central: str) -> dict[str, Any]:
    settings = config.settings
    with named_lock("central-read", wait=True):
        checkout = central_repo.sync(central, settings.default_branch, "read")
        pinned = {env.name: overlays.pins(overlays.read(checkout, env.name))
                  for env in settings.environments}
    services: dict[str, Any] = {}
    for name, pipeline in sorted(config.pipelines.items()):
        environments: dict[str, Any] = {}
        for env in settings.environments:
            digest = pinned[env.name].get(pipeline.image)
            running = deploy.running_digest(config, env, pipeline)
            record = ledger.last_verified(name, env.name, digest) if digest else None
            environments[env.name] = {
                "pinned": digest,
                "running": running,
                "drift": digest != running,
                "revision": record.revision if record else None,
                "promoted_at": record.finished_at if record else None,
                "promoted_by": record.actor if record else None,
                "stages_passed": sorted(evidence.passed_stages(digest)) if digest else [],
                "frozen": ledger.is_frozen(name, env.name),
                "last_failure": _failure(ledger.last_failure(name, env.name)),
            }
        services[name] = {"environments": environments, "last_pipeline": last_pipeline(name)}
    return {"services": services, "environments": [e.name for e in settings.environments]}


def _failure(record: ledger.Promotion | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"digest": record.digest, "phase": record.phase,
            "reason": record.failure or "no reason was recorded",
            "attempt": record.reason, "actor": record.actor, "at": record.finished_at}


def last_pipeline(service: str) -> dict[str, Any] | None:
    run = runs.latest(service)
    if run is None:
        return None
    stages = runs.stages(run["run_id"])
    return {
        "run_id": run["run_id"], "status": run["status"], "executor": run["executor"],
        "url": run["url"], "revision": run["revision"], "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "stages": [{"stage": s["stage"], "status": s["status"],
                    "duration_s": round(s["finished_at"] - s["started_at"], 3)} for s in stages],
    }


def render_table(data: dict[str, Any]) -> str:
    """The matrix for a terminal: one line per service and environment."""
    lines = [f"{'SERVICE':<20} {'ENV':<11} {'PINNED':<21} {'RUNNING':<21} {'BY':<14} STAGES"]
    for name, service in data["services"].items():
        for env in data["environments"]:
            cell = service["environments"][env]
            flags = " DRIFT" if cell["drift"] else ""
            flags += " FROZEN" if cell["frozen"] else ""
            lines.append(f"{name:<20} {env:<11} {_short(cell['pinned']):<21} "
                         f"{_short(cell['running']):<21} {cell['promoted_by'] or '-':<14} "
                         f"{','.join(cell['stages_passed']) or '-'}{flags}")
            failure = cell["last_failure"]
            if failure:
                lines.append(f"{'':<20} {env:<11} FAILED {_short(failure['digest'])} "
                             f"({failure['phase']}): {failure['reason']}")
        run = service["last_pipeline"]
        if run:
            stages = " ".join(f"{s['stage']}:{s['status']}" for s in run["stages"])
            lines.append(f"{'':<20} pipeline    {run['status']} ({run['executor']}) "
                         f"{run['revision'][:12]} {stages} {run['url'] or ''}".rstrip())
    return "\n".join(lines)


def _short(digest: str | None) -> str:
    return digest[7:19] if digest else "-"
