"""The `jenkins` executor: one build of the service's job per trigger, never two.

submit(trigger):
1. reads the job: its declared parameters and its recent builds (one tree query);
   a job that does not declare every parameter we send is refused (Jenkins would drop the
   undeclared ones silently);
2. looks for a queue item or build already carrying the trigger's TRIGGER_ID (a previous
   attempt whose answer was lost, or a dispatcher killed before marking it delivered).
   Queue items are matched by the job's full name: their `task.url` is built from Jenkins'
   configured root URL, which need not be the URL Conveyor uses;
3. otherwise POSTs buildWithParameters, redirects not followed. Jenkins answers 201 with the
   new queue item, or 303 with an already queued item carrying identical parameters (the
   same trigger, queued by a racing attempt): both locate the trigger's item. If the answer
   is unclear (connection dropped, timeout, 5xx) it looks again before giving up as
   Retryable;
4. follows the queue item to the build number and URL (for a bounded time) and records the
   run in the `runs` table under the trigger's run id (`builds.run_id`), the id the
   Jenkinsfile's `conveyor stage` calls record their stages under.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from conveyor.config.model import Settings
from conveyor.errors import Refusal, Retryable
from conveyor.executors import Accepted, Trigger
from conveyor.jenkins import builds
from conveyor.jenkins.client import Client, NotFound, Unclear, job_path

log = logging.getLogger(__name__)

QUEUE_TREE = "items[id,url,task[name,fullName,url],actions[parameters[name,value]]]"
LOCATION = re.compile(r"/queue/item/(\d+)/?$")


def parameters(settings: Settings, trigger: Trigger) -> dict[str, str]:
    """What a build of `trigger` is given: the trigger's parameters and whether the
    Jenkinsfile should ask for a production approval (Conveyor's rule, not Groovy's)."""
    ref = trigger.ref_text
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    asks = branch is not None and settings.may_promote(branch) and any(
        env.approval for env in settings.environments)
    return {**trigger.parameters(), "ASK_APPROVAL": "yes" if asks else "no"}


class JenkinsExecutor:
    name = "jenkins"

    def __init__(self, settings: Settings, repository: str, *, client: Client | None = None,
                 follow_timeout: float = 15.0, poll_interval: float = 0.25) -> None:
        self.settings, self.repository = settings, repository
        self._client = client
        self.follow_timeout, self.poll_interval = follow_timeout, poll_interval

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.settings)
        return self._client

    def job_name(self, service: str) -> str:
        return f"{self.settings.jenkins.folder}/{service}"

    def submit(self, trigger: Trigger) -> Accepted:
        job = self.job_name(trigger.service)
        sent = parameters(self.settings, trigger)
        info = self._job(job)
        declared = _declared(info)
        missing = [name for name in sent if name not in declared]
        if missing:
            raise Refusal(f"Jenkins job {job} does not declare the parameter(s) "
                          f"{', '.join(missing)}; Jenkins would drop them. Run "
                          "`conveyor jenkins sync`.")
        found = self._find(job, trigger, info)
        if found is not None:
            return found
        try:
            response = self.client.post(f"{job_path(job)}buildWithParameters",
                                        f"trigger {job}", data=sent, redirects=(303,))
        except Unclear as exc:
            log.info("jenkins: answer to the trigger of %s unclear (%s); looking for it",
                     job, exc)
            found = self._find(job, trigger, self._job(job))
            if found is not None:
                return found
            raise
        match = LOCATION.search(response.headers.get("Location", ""))
        if response.status_code not in (201, 303) or match is None:
            raise Retryable(f"trigger {job}: Jenkins answered {response.status_code} "
                            "without a queue item location")
        if response.status_code == 303:
            log.info("jenkins: trigger %s was already queued (303 to item %s)",
                     trigger.trigger_id, match.group(1))
        return self._follow(job, trigger, int(match.group(1)))

    # ---------------------------------------------------------------- reading

    def _job(self, job: str) -> dict[str, Any]:
        tree = f"property[parameterDefinitions[name]],builds[{builds.BUILD_TREE}]{{0,50}}"
        try:
            info: dict[str, Any] = self.client.get_json(f"{job_path(job)}api/json?tree={tree}",
                                                        f"read job {job}")
        except NotFound:
            raise Refusal(f"Jenkins has no job {job}: run `conveyor jenkins sync`") from None
        return info

    def _find(self, job: str, trigger: Trigger, info: dict[str, Any]) -> Accepted | None:
        """The queue item or build already carrying this trigger's TRIGGER_ID, if any."""
        queue = self.client.get_json(f"queue/api/json?tree={QUEUE_TREE}", "read the queue")
        for item in queue.get("items") or []:
            if (item.get("task") or {}).get("fullName") == job and \
                    builds.parameters_of(item).get("TRIGGER_ID") == trigger.trigger_id:
                log.info("jenkins: trigger %s already queued as item %s", trigger.trigger_id,
                         item["id"])
                return self._follow(job, trigger, int(item["id"]))
        build = _build_of(info, trigger)
        if build is not None:
            log.info("jenkins: trigger %s already built as %s", trigger.trigger_id,
                     build.get("url"))
            builds.record(trigger, build.get("url"), builds.status_of(build))
            return Accepted(builds.run_id(trigger.trigger_id), build.get("url"))
        return None

    def _follow(self, job: str, trigger: Trigger, queue_id: int) -> Accepted:
        """Poll the queue item until it has a build (or the time is up); record the run."""
        url, status = f"{self.client.url}queue/item/{queue_id}/", "queued"
        deadline = time.monotonic() + self.follow_timeout
        while True:
            try:
                item = self.client.get_json(f"queue/item/{queue_id}/api/json",
                                            f"follow queue item {queue_id}")
            except NotFound:  # left the queue more than five minutes ago: find its build
                build = _build_of(self._job(job), trigger)
                if build is not None:
                    url, status = build["url"], builds.status_of(build)
                break
            except Retryable as exc:  # accepted already: following is best effort
                log.info("jenkins: cannot follow queue item %s yet (%s)", queue_id, exc)
                break
            executable = item.get("executable")
            if executable:
                url, status = executable["url"], "running"
                break
            if item.get("cancelled"):
                status = "failed"
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(self.poll_interval)
        builds.record(trigger, url, status)
        return Accepted(builds.run_id(trigger.trigger_id), url)


def _build_of(info: dict[str, Any], trigger: Trigger) -> dict[str, Any] | None:
    for build in info.get("builds") or []:
        if builds.parameters_of(build).get("TRIGGER_ID") == trigger.trigger_id:
            return dict(build)
    return None


def _declared(info: dict[str, Any]) -> set[str]:
    names = set()
    for prop in info.get("property") or []:
        for definition in (prop or {}).get("parameterDefinitions") or []:
            names.add(definition.get("name"))
    return names
