"""Jenkins builds as Conveyor sees them: the `runs` and `stage_runs` rows, the last build.

A Jenkins run has one id from the trigger on: `run_id(trigger_id)`. The executor records it
(with the queue item, then the build URL) and every `conveyor stage` call in the Jenkinsfile
records its stage under it, so `conveyor status` and the dashboard show a Jenkins run's
stages and link to its build, as for local runs. Its status follows the build (queued,
running, passed, failed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from conveyor.config.model import Config, Settings
from conveyor.errors import ConveyorError, Refusal
from conveyor.executors import Trigger
from conveyor.jenkins.client import Client, NotFound, job_path
from conveyor.records import runs

BUILD_TREE = "number,url,result,building,queueId,actions[parameters[name,value]]"


def run_id(trigger_id: str) -> str:
    """The run of a trigger on Jenkins: the same trigger always names the same run."""
    return "jenkins-" + re.sub(r"[^A-Za-z0-9_.-]", "_", trigger_id)[:48]


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
    if build.get("result") is None:  # set only when the build is over (Run.getResult)
        return "running"
    return "passed" if build.get("result") == "SUCCESS" else "failed"


def record(trigger: Trigger, url: str | None, status: str) -> None:
    """Insert or update the run of `trigger` (executor jenkins) with its URL and status."""
    runs.record_jenkins(run_id(trigger.trigger_id), service=trigger.service,
                        revision=trigger.revision, ref=trigger.ref_text,
                        content_key=trigger.content_key, trigger_id=trigger.trigger_id, url=url,
                        value=status)


def record_stage(*, trigger_id: str, service: str, revision: str, ref: str, stage: str,
                 passed: bool, started: float, build_url: str | None,
                 digest: str | None = None) -> str:
    """A stage run by the Jenkinsfile, under the trigger's run (created if this machine has
    not seen the trigger); returns the run id."""
    run = run_id(trigger_id)
    runs.record_jenkins_stage(run, trigger_id=trigger_id, service=service, revision=revision,
                              ref=ref, stage=stage, passed=passed, started=started,
                              build_url=build_url, digest=digest)
    return run


def update(trigger_id: str, url: str, status: str) -> None:
    """Follow-up of a known run: set its build URL and status (finished_at when done)."""
    runs.update_jenkins(trigger_id, url, status)


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


APPROVER_ACTION = "org.jenkinsci.plugins.workflow.support.steps.input.ApproverAction"


def approver_of(settings: Settings, service: str, number: int, trigger_id: str, *,
                client: Client | None = None) -> str:
    """Who approved build `number` of `service`'s job, as Jenkins recorded it.

    The input step records the user Jenkins authenticated as an `ApproverAction` on the run
    (pipeline-input-step InputStepExecution.proceed); Conveyor reads it with its own Jenkins
    credentials, from the job it synced, and only for the build of this trigger. An
    environment variable (`APPROVER`, which anyone running the stage could set) is never
    taken for an identity.
    """
    client = client or Client(settings)
    job = f"{settings.jenkins.folder}/{service}"
    build = client.get_json(f"{job_path(job)}{number}/api/json?tree=actions[userId,"
                            "parameters[name,value]]", f"read who approved {job} #{number}")
    if parameters_of(build).get("TRIGGER_ID") != trigger_id:
        raise Refusal(f"{job} #{number} is not the build of trigger {trigger_id}")
    approvers = [action["userId"] for action in build.get("actions") or []
                 if (action or {}).get("_class") == APPROVER_ACTION and action.get("userId")]
    if not approvers:
        raise Refusal(f"{job} #{number} has no approval recorded by Jenkins' input step")
    return str(approvers[-1])


def refresh_last_builds(config: Config, warn: Callable[[str], None]) -> None:
    """With the Jenkins executor, ask Jenkins for each service's last build, so the runs the
    status shows carry the build's URL and result; Jenkins unreachable is a warning."""
    for service in sorted(config.pipelines):
        try:
            last_build(config.settings, service)
        except ConveyorError as exc:
            warn(f"Jenkins: last build of {service} unknown: {exc}")
            return
