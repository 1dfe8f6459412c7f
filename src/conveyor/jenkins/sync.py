"""`conveyor jenkins sync`: make Jenkins' folder, jobs and views match the repository.

Sync reads what is there, compares normalised XML with what `pipelines/` and conveyor.toml
say, and writes only the differences; a second sync writes nothing. `--prune` also deletes
the pipeline jobs (and their views) of services that no longer exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from conveyor.config.model import Config
from conveyor.jenkins import jobs as jenkins_xml
from conveyor.jenkins.client import Client

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
    changes: list[Change] = []

    current = client.config("job", folder)
    wanted = jenkins_xml.folder_xml(settings)
    folder_exists = current is not None
    if current is None:
        changes.append(Change("create", "folder", folder, wanted))
    elif not jenkins_xml.is_same(current, wanted, drop=jenkins_xml.FOLDER_VIEW_ELEMENTS):
        changes.append(Change("update", "folder", folder,
                              jenkins_xml.with_views_of(current, wanted)))

    for service in sorted(config.pipelines):
        _compare(changes, client, folder_exists, "job", f"{folder}/{service}",
                 jenkins_xml.job_xml(settings, service))
    wanted_views = jenkins_xml.views(config)
    for view, xml in wanted_views.items():
        _compare(changes, client, folder_exists, "view", f"{folder}/{view}", xml)

    if prune and folder_exists:
        changes.extend(_stale(config, client, set(wanted_views)))
    return changes


def _compare(changes: list[Change], client: Client, folder_exists: bool, kind: str,
             name: str, wanted: str) -> None:
    current = client.config(kind, name) if folder_exists else None
    if current is None:
        changes.append(Change("create", kind, name, wanted))
    elif not jenkins_xml.is_same(current, wanted):
        changes.append(Change("update", kind, name, wanted))


def _stale(config: Config, client: Client, wanted_views: set[str]) -> list[Change]:
    folder = config.settings.jenkins.folder
    info = client.get_json(f"job/{folder}/api/json?tree=jobs[name,description],views[name]",
                           f"list folder {folder}")
    stale = []
    for job in info.get("jobs", []):
        name = job.get("name", "")
        ours = job.get("_class") == jenkins_xml.JOB_CLASS and str(
            job.get("description") or "").startswith(jenkins_xml.JOB_MARKER)
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
