"""`conveyor jenkins sync`: make Jenkins' folder, jobs and views match the repository.

Sync reads what is there and compares only what it owns (`jobs.OWNED`): Jenkins adds its own
elements on save and every declarative build records its property tracker in the job, and
none of that is a difference. An update merges the owned elements into the current
config.xml, since a POST replaces the whole item (AbstractItem.updateByXml): a folder update
keeps its views, a job update keeps a disabled flag. A second sync, before or after builds,
writes nothing. `--prune` also deletes the pipeline jobs (and their views) of services that
no longer exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from conveyor.config.model import Config
from conveyor.errors import ConfigError
from conveyor.jenkins import jobs
from conveyor.jenkins.client import Client, job_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    action: str  # create | update | delete
    kind: str  # folder | job | view
    name: str  # full name, e.g. "conveyor/gateway"
    xml: str = ""

    def describe(self) -> str:
        return f"{self.action} {self.kind} {self.name}"


def plan(config: Config, client: Client, *, prune: bool = False) -> list[Change]:
    """What sync would write, in the order it must be written (folder, jobs, views)."""
    settings = config.settings
    folder = settings.jenkins.folder
    if not folder or "/" in folder:
        raise ConfigError(f"conveyor.toml: jenkins.folder {folder!r} must be one folder name, "
                      "without '/'")
    jobs.check_repository(settings)
    changes: list[Change] = []

    current = client.config("job", folder)
    folder_exists = current is not None
    _compare(changes, "folder", folder, current, jobs.folder_xml(settings))
    for service in sorted(config.pipelines):
        name = f"{folder}/{service}"
        _compare(changes, "job", name, client.config("job", name) if folder_exists else None,
                 jobs.job_xml(settings, service))
    wanted_views = jobs.views(config)
    for view, xml in wanted_views.items():
        name = f"{folder}/{view}"
        current_view = client.config("view", name) if folder_exists else None
        if current_view is None:
            changes.append(Change("create", "view", name, xml))
        elif not jobs.is_same(current_view, xml):
            changes.append(Change("update", "view", name, xml))

    if prune and folder_exists:
        changes.extend(_stale(config, client, set(wanted_views)))
    return changes


def _compare(changes: list[Change], kind: str, name: str, current: str | None,
             wanted: str) -> None:
    if current is None:
        changes.append(Change("create", kind, name, wanted))
    elif jobs.owned_differ(kind, current, wanted):
        changes.append(Change("update", kind, name, jobs.merged(kind, current, wanted)))


def _stale(config: Config, client: Client, wanted_views: set[str]) -> list[Change]:
    folder = config.settings.jenkins.folder
    info = client.get_json(f"{job_path(folder)}api/json?tree=jobs[name,description],views[name]",
                           f"list folder {folder}")
    stale = []
    for job in info.get("jobs", []):
        name = job.get("name", "")
        ours = job.get("_class") == jobs.JOB_CLASS and str(
            job.get("description") or "").startswith(jobs.JOB_MARKER)
        if ours and name not in config.pipelines:
            stale.append(Change("delete", "job", f"{folder}/{name}"))
    for view in info.get("views", []):
        name = view.get("name", "")
        if name.startswith("service-") and name not in wanted_views:
            stale.append(Change("delete", "view", f"{folder}/{name}"))
    return stale


def apply(changes: list[Change], client: Client) -> None:
    for change in changes:
        log.info("jenkins sync: %s", change.describe())
        kind = "job" if change.kind == "folder" else change.kind
        if change.action == "create":
            client.create(kind, change.name, change.xml)
        elif change.action == "update":
            client.update(kind, change.name, change.xml)
        else:
            client.delete(kind, change.name)


def sync(config: Config, client: Client, *, dry_run: bool = False,
         prune: bool = False) -> list[Change]:
    """Bring Jenkins in line with the repository; return what changed (or would change)."""
    changes = plan(config, client, prune=prune)
    if not dry_run:
        apply(changes, client)
    return changes
