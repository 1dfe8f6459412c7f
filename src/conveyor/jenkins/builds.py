"""Jenkins builds as Conveyor sees them: the `runs` rows, and the last build of a service.

A Jenkins run is recorded under run id `jenkins-<queue item id>` with the build's URL once
known; its status follows the build (queued, running, passed, failed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conveyor.config.model import Config, Settings
from conveyor.errors import ConveyorError
from conveyor.executors import Trigger
from conveyor.jenkins.client import Client, NotFound, job_path
from conveyor.records import db

BUILD_TREE = "number,url,result,building,queueId,actions[parameters[name,value]]"


def run_id(queue_id: int) -> str:
    return f"jenkins-{queue_id}"


def parameters_of(entry: dict[str, Any]) -> dict[str, str]:
    """The parameters a queue item or build carries (its ParametersAction)."""
    result: dict[str, str] = {}
    for action in entry.get("actions") or []:
        for parameter in (action or {}).get("parameters") or []:
            if "name" in parameter:
                result[parameter["name"]] = str(parameter.get("value", ""))
    return result


def status_of(build: dict[str, Any] | None) -> str:
    if not build:
        return "queued"
    if build.get("building") or build.get("result") is None:
        return "running"
    return "passed" if build.get("result") == "SUCCESS" else "failed"


def record(trigger: Trigger, queue_id: int, url: str | None, status: str) -> None:
    """Insert or update the run of `trigger` (executor jenkins) with its URL and status."""
    conn = db.connect()
    try:
        with conn:
            conn.execute(
                "INSERT INTO runs (run_id, service, revision, ref, content_key, trigger_id,"
                " executor, url, status, started_at) VALUES (?, ?, ?, ?, ?, ?, 'jenkins', ?, ?, ?)"
                " ON CONFLICT(run_id) DO UPDATE SET url = COALESCE(excluded.url, runs.url),"
                " status = excluded.status",
                (run_id(queue_id), trigger.service, trigger.revision, trigger.ref_text,
                 trigger.content_key, trigger.trigger_id, url, status, db.now()))
    finally:
        conn.close()


def update(trigger_id: str, url: str, status: str) -> None:
    """Follow-up of a known run: set its build URL and status (finished_at when done)."""
    conn = db.connect()
    try:
        with conn:
            conn.execute(
                "UPDATE runs SET url = ?, status = ?, finished_at = CASE WHEN ? IN "
                "('passed', 'failed') THEN COALESCE(finished_at, ?) ELSE NULL END "
                "WHERE executor = 'jenkins' AND trigger_id = ?",
                (url, status, status, db.now(), trigger_id))
    finally:
        conn.close()


def last_build(settings: Settings, service: str, *,
               client: Client | None = None) -> dict[str, Any] | None:
    """The last build of `service`'s job: {number, url, result, building}; None if none.

    Updates the `runs` row of that build's trigger (url, status) on the way.
    """
    client = client or Client(settings)
    job = f"{settings.jenkins.folder}/{service}"
    try:
        info = client.get_json(f"{job_path(job)}api/json?tree=lastBuild[{BUILD_TREE}]",
                               f"read the last build of {job}")
    except NotFound:
        return None
    build = info.get("lastBuild")
    if not build:
        return None
    trigger_id = parameters_of(build).get("TRIGGER_ID")
    if trigger_id:
        update(trigger_id, build["url"], status_of(build))
    return {"number": build.get("number"), "url": build.get("url"),
            "result": build.get("result"), "building": bool(build.get("building"))}


def refresh_last_builds(config: Config, warn: Callable[[str], None]) -> None:
    """With the Jenkins executor, ask Jenkins for each service's last build, so the runs the
    status shows carry the build's URL and result; Jenkins unreachable is a warning."""
    for service in sorted(config.pipelines):
        try:
            last_build(config.settings, service)
        except ConveyorError as exc:
            warn(f"Jenkins: last build of {service} unknown: {exc}")
            return
