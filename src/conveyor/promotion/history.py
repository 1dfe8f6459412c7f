"""What was promoted where and when: the overlays' git history joined with the records.

Git says what each environment pinned (each commit that changed a service's pin), the
trailers say who asked and who approved; the records add the phase each attempt reached,
including attempts that never got published.
"""

from __future__ import annotations

from typing import Any

from conveyor.config.model import Config
from conveyor.git import central as central_repo
from conveyor.git import plumbing as git
from conveyor.promotion import overlays
from conveyor.records import ledger
from conveyor.util.locks import named_lock

FIELD, RECORD = "\x1f", "\x1e"


def collect(config: Config, central: str, service: str,
            environment: str | None = None) -> list[dict[str, Any]]:
    """History entries of `service`, newest first."""
    pipeline = config.pipeline(service)
    settings = config.settings
    envs = [settings.environment(environment)] if environment else list(settings.environments)
    records = {env.name: ledger.history(service, env.name) for env in envs}
    # Newest record of a commit wins: `--resume` abandons the interrupted record and finishes
    # the same commit under a new one, whose phase is the truth.
    by_commit: dict[str, ledger.Promotion] = {}
    for rows in records.values():
        for r in rows:  # newest first
            if r.commit_id:
                by_commit.setdefault(r.commit_id, r)
    entries: list[dict[str, Any]] = []
    with named_lock("central-read", wait=True):
        checkout = central_repo.sync(central, settings.default_branch, "read")
        for env in envs:
            path = overlays.relative_path(env.name)
            log = git.run(checkout, "log", f"--format=%H{FIELD}%ct{FIELD}%an <%ae>{FIELD}"
                          f"%(trailers:only,unfold){RECORD}", "--", path).text()
            for chunk in log.split(RECORD):
                if not chunk.strip():
                    continue
                commit, when, author, trailers = chunk.strip("\n").split(FIELD)
                now = _pin_at(checkout, commit, path, pipeline.image)
                before = _pin_at(checkout, f"{commit}^", path, pipeline.image)
                if now == before:
                    continue
                tags = _trailers(trailers)
                record = by_commit.get(commit)
                entries.append({
                    "environment": env.name, "commit": commit, "time": float(when),
                    "digest": now, "previous": before, "author": author,
                    "actor": tags.get("Conveyor-Actor") or (record.actor if record else None),
                    "approved_by": _none(tags.get("Conveyor-Approved-By")),
                    "override": tags.get("Conveyor-Override"),
                    "rollback": tags.get("Conveyor-Rollback") == "true",
                    "phase": record.phase if record else None,
                })
    seen = {e["commit"] for e in entries}
    for env_name, rows in records.items():
        for row in rows:
            if row.commit_id is None or row.commit_id not in seen:
                entries.append({
                    "environment": env_name, "commit": row.commit_id, "time": row.started_at,
                    "digest": row.digest, "previous": row.previous_digest, "author": None,
                    "actor": row.actor, "approved_by": row.approver, "override": row.reason,
                    "rollback": row.rollback, "phase": row.phase,
                })
    entries.sort(key=lambda e: e["time"], reverse=True)
    return entries


def _pin_at(checkout: Any, rev: str, path: str, image: str) -> str | None:
    raw = git.show_file(checkout, rev, path)
    return overlays.pins(overlays.parse(raw, path)).get(image) if raw else None


def _trailers(text: str) -> dict[str, str]:
    result = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            result[key.strip()] = value.strip()
    return result


def _none(value: str | None) -> str | None:
    return None if value in (None, "", "none") else value


def render_table(entries: list[dict[str, Any]]) -> str:
    import time

    lines = [f"{'WHEN':<20} {'ENV':<11} {'DIGEST':<14} {'PHASE':<12} {'BY':<16} NOTE"]
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["time"]))
        digest = e["digest"][7:19] if e["digest"] else "(unpinned)"
        note = "rollback" if e["rollback"] else ""
        if e["override"]:
            note += f" override: {e['override']}"
        if e["approved_by"]:
            note += f" approved by {e['approved_by']}"
        lines.append(f"{when:<20} {e['environment']:<11} {digest:<14} "
                     f"{e['phase'] or '-':<12} {e['actor'] or '-':<16} {note.strip()}")
    return "\n".join(lines)
