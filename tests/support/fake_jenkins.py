"""A fake Jenkins built from Jenkins' source, not from the client's idea of it.

Served over real HTTP on 127.0.0.1 (ThreadingHTTPServer in a thread, free port), so
python-jenkins and requests run unchanged against it. Each behaviour names the upstream file
it models (snapshot commits in ../shared/research/jenkins-fidelity.md). When the fake and the
client disagree, the source decides: a test must never pass here and fail on Jenkins.

- Addresses: Jenkins runs under a context path (`/jenkins`), and its configured root URL
  (`root_url`, "Jenkins URL" in the setup wizard) names another host (`localhost`) than the
  one the client uses (`127.0.0.1`). Absolute URLs in JSON use the root URL
  (jenkinsci/jenkins core/src/main/java/hudson/model/AbstractItem.java getAbsoluteUrl,
  jenkins/model/Jenkins.java getRootUrl); a Location header is made absolute from the
  request by Stapler.
- Authentication: Basic with an API token needs no crumb (core/.../jenkins/security/
  BasicHeaderApiTokenAuthenticator.java, ApiCrumbExclusion.java); Basic with a password opens
  a session (cookie `JSESSIONID.<random>`, core/.../hudson/security/SecurityRealm.java) whose
  POSTs need the crumb issued for that session (core/.../hudson/security/csrf/
  DefaultCrumbIssuer.java), else `403 No valid crumb was included in the request`
  (CrumbFilter.java).
- Folders keep their views in `folderViews` (jenkinsci/cloudbees-folder-plugin
  src/main/java/com/cloudbees/hudson/plugins/folder/AbstractFolder.java, views/
  DefaultFolderViewHolder.java). A config.xml POST replaces the whole item, omitted fields
  included (core/.../hudson/model/AbstractItem.java updateByXml): a folder posted without
  `folderViews` gets the default holder ("All" only), one posted with an empty holder gets a
  holder whose view list is null, after which every view look-up answers 500
  (core/.../hudson/model/ViewGroupMixIn.java getView, View.java create).
- Saving a job writes it in XStream form: plugin attributes, every field of every property
  (workflow-job .../properties/DisableConcurrentBuildsJobProperty.java abortPrevious).
- A build runs the Jenkinsfile's declarative `properties`: `parameters {}` replace the
  job's same-named parameters, `options {}` job properties replace same-class properties,
  and a DeclarativeJobPropertyTrackerAction is stored in the job's `<actions>`
  (jenkinsci/pipeline-model-definition-plugin pipeline-model-definition/src/main/groovy/org/
  jenkinsci/plugins/pipeline/modeldefinition/Utils.groovy updateJobProperties).
  Before that the Jenkinsfile is checked out on the controller (workflow-cps
  CpsScmFlowDefinition.java): a `file://` or local remote is refused unless
  `allow_local_checkout` (the system property hudson.plugins.git.GitSCM.ALLOW_LOCAL_CHECKOUT,
  jenkinsci/git-plugin src/main/java/hudson/plugins/git/GitSCM.java abortIfSourceIsLocal),
  and a spread call fails compilation (jenkinsci/workflow-cps-plugin lib/src/main/java/com/
  cloudbees/groovy/cps/CpsTransformer.java). Options and steps from plugins that are not
  installed fail the build (pipeline-model-definition model/Options.groovy).
- Queue (core/.../hudson/model/Queue.java, ParametersDefinitionProperty.java):
  buildWithParameters answers 201 with the new item's Location, or 303 with the Location of
  a queued item carrying identical parameters (ParametersAction.shouldSchedule); an item
  waits out the quiet period (5 s by default, Jenkins.java getQuietPeriod) on an injectable
  clock, is blocked while a concurrent-builds-disabled job is building, then leaves the queue
  and is kept as a LeftItem for five minutes, after which `queue/item/<id>/api/json` is 404
  (Queue.java leftItems expireAfterWrite). Only a LeftItem exports `executable` and
  `cancelled`. A disabled job answers 409 (jenkins/model/ParameterizedJobMixIn.java), a job
  without parameters 400.
- `starting = True` makes every request 503 "Jenkins is getting ready to work"
  (core/.../hudson/util/HudsonIsLoading.java).
- Faults (`inject`): an HTTP status, a dropped connection before or after the request was
  processed, or a hang.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import subprocess
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FOLDER_TAG = "com.cloudbees.hudson.plugins.folder.Folder"
HOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder"
JOB_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
RUN_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowRun"
PARAMS_TAG = "hudson.model.ParametersDefinitionProperty"
STRING_PARAM = "hudson.model.StringParameterDefinition"
DISABLE_CONCURRENT = "org.jenkinsci.plugins.workflow.job.properties." \
                     "DisableConcurrentBuildsJobProperty"
DISCARDER = "jenkins.model.BuildDiscarderProperty"
TRACKER = "org.jenkinsci.plugins.pipeline.modeldefinition.actions." \
          "DeclarativeJobPropertyTrackerAction"
NO_CRUMB = "No valid crumb was included in the request"
LEFT_ITEM_TTL = 5 * 60.0  # Queue.java: leftItems ... expireAfterWrite(5 * 60, SECONDS)
DEFAULT_QUIET_PERIOD = 5.0  # Jenkins.java getQuietPeriod: 5 unless configured
# What workflow-aggregator (Pipeline) plus the plugins of docs/jenkins.md bring.
DEFAULT_PLUGINS = frozenset({
    "workflow-aggregator", "workflow-job", "workflow-cps", "workflow-durable-task-step",
    "workflow-basic-steps", "pipeline-model-definition", "pipeline-input-step",
    "pipeline-milestone-step", "pipeline-stage-step", "git", "cloudbees-folder", "junit",
    "credentials-binding"})
# Declarative options and steps, and the plugin that provides each (Options.groovy looks
# them up among installed descriptors; an unknown one fails validation).
PROVIDED_BY = {
    "timestamps": "timestamper", "ansiColor": "ansicolor", "milestone": "pipeline-milestone-step",
    "input": "pipeline-input-step", "junit": "junit", "withCredentials": "credentials-binding",
    "sh": "workflow-durable-task-step", "stash": "workflow-basic-steps",
    "unstash": "workflow-basic-steps", "timeout": "workflow-basic-steps",
    "lock": "lockable-resources",
}
PLUGIN_ATTRS = {  # what XStream writes on save (versions of a 2.4xx LTS installation)
    "flow-definition": "workflow-job@1436.vfa_244484591f",
    "definition": "workflow-cps@3969.vdc9d3a_efcc6a_",
    "scm": "git@5.5.2",
    FOLDER_TAG: "cloudbees-folder@6.955.v81e2a_35c08d3",
    TRACKER: "pipeline-model-definition@2.2218.v56d0cda_37c72",
}


class Clock:
    """Jenkins' notion of now; tests move it instead of sleeping."""

    def __init__(self) -> None:
        self._now = 1_700_000_000.0

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


@dataclass
class Build:
    number: int
    parameters: dict[str, str]
    queue_id: int
    result: str | None = None  # SUCCESS | FAILURE | ABORTED | NOT_BUILT; None while building
    log: list[str] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)  # users who submitted an input


@dataclass
class Item:
    """A job (config kept as saved XML) or a folder (fields kept apart, as AbstractFolder)."""

    name: str
    kind: str  # folder | job
    xml: str = ""  # a job's saved config.xml
    children: dict[str, Item] = field(default_factory=dict)
    description: str = ""
    # A folder's list views (name -> XML without owner); None is a DefaultFolderViewHolder
    # whose `views` field stayed null: what XStream makes of an empty holder element.
    views: dict[str, str] | None = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)  # other folder fields, as XML
    builds: list[Build] = field(default_factory=list)
    next_build: int = 1

    @property
    def config(self) -> str:
        return folder_config(self) if self.kind == "folder" else self.xml

    @config.setter
    def config(self, text: str) -> None:
        update_by_xml(self, ET.fromstring(text.encode("utf-8")))


@dataclass
class QueueItem:
    id: int
    job: str  # full name
    parameters: dict[str, str]
    since: float  # when it entered the queue
    quiet_until: float
    left_at: float | None = None
    build: int | None = None
    cancelled: bool = False
    why: str = ""


@dataclass
class Fault:
    method: str
    path: str  # substring of the request path
    kind: str  # status | drop | drop-after | hang
    status: int = 503
    body: str = ""
    times: int = 1
    skip: int = 0  # matching requests let through before the fault applies


@dataclass
class Seen:
    method: str
    path: str
    status: int
    auth: str  # none | token | password | bad
    headers: dict[str, str]
    body: bytes


def _declared(config: str) -> list[tuple[str, str]]:
    """(name, default) of the StringParameterDefinitions in a job config.xml."""
    root = ET.fromstring(config.encode("utf-8"))
    result = []
    for prop in root.iter(PARAMS_TAG):
        for definition in prop.iter():
            if definition.tag.endswith("ParameterDefinition"):
                result.append((definition.findtext("name") or "",
                               definition.findtext("defaultValue") or ""))
    return result


def _render(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode")


# ---------------------------------------------------------------- folders (cloudbees-folder)


def _default_health_metrics() -> str:
    return ("<healthMetrics><com.cloudbees.hudson.plugins.folder.health.WorstChildHealthMetric>"
            "<nonRecursive>false</nonRecursive>"
            "</com.cloudbees.hudson.plugins.folder.health.WorstChildHealthMetric></healthMetrics>")


def folder_config(folder: Item) -> str:
    """A folder as XStream writes it (DefaultFolderViewHolderTest/oldData/jobs/d/config.xml)."""
    root = ET.Element(FOLDER_TAG, plugin=PLUGIN_ATTRS[FOLDER_TAG])
    root.append(ET.fromstring(folder.extra.get("actions", "<actions/>")))
    ET.SubElement(root, "description").text = folder.description
    root.append(ET.fromstring(folder.extra.get("properties", "<properties/>")))
    holder = ET.SubElement(root, "folderViews", {"class": HOLDER_CLASS})
    if folder.views is not None:  # a null `views` field is simply not written
        views = ET.SubElement(holder, "views")
        all_view = ET.SubElement(views, "hudson.model.AllView")
        ET.SubElement(all_view, "owner", {"class": FOLDER_TAG, "reference": "../../../.."})
        ET.SubElement(all_view, "name").text = "All"
        ET.SubElement(all_view, "filterExecutors").text = "false"
        ET.SubElement(all_view, "filterQueue").text = "false"
        ET.SubElement(all_view, "properties", {"class": "hudson.model.View$PropertyList"})
        for xml in folder.views.values():
            view = ET.fromstring(xml)
            view.insert(0, ET.Element("owner", {"class": FOLDER_TAG,
                                                "reference": "../../../.."}))
            views.append(view)
        ET.SubElement(holder, "primaryView").text = "All"
        ET.SubElement(holder, "tabBar", {"class": "hudson.views.DefaultViewsTabBar"})
    root.append(ET.fromstring(folder.extra.get("healthMetrics", _default_health_metrics())))
    root.append(ET.fromstring(folder.extra.get(
        "icon", '<icon class="com.cloudbees.hudson.plugins.folder.icons.StockFolderIcon"/>')))
    return _render(root)


def update_by_xml(item: Item, root: ET.Element) -> None:
    """AbstractItem.updateByXml: unmarshal onto the item, nulling out every omitted field."""
    if item.kind == "job":
        item.xml = xstream_job(root)
        return
    item.description = root.findtext("description") or ""
    item.extra = {tag: ET.tostring(element, encoding="unicode")
                  for tag in ("actions", "properties", "healthMetrics", "icon")
                  if (element := root.find(tag)) is not None}
    holder = root.find("folderViews")
    if holder is None:
        # AbstractFolder.init(): folderViews == null -> newFolderViewHolder(), "All" only.
        item.views = {}
        return
    views = holder.find("views")
    if views is None:
        # XStream never calls DefaultFolderViewHolder's constructor (RobustReflectionConverter
        # instantiateNewInstance): the list stays null and init() keeps the broken holder.
        item.views = None
        return
    item.views = {}
    for view in views:
        if view.tag == "hudson.model.AllView":
            continue
        for owner in view.findall("owner"):
            view.remove(owner)
        item.views[view.findtext("name") or ""] = ET.tostring(view, encoding="unicode")


def _views_of(folder: Item) -> dict[str, str]:
    """ViewGroupMixIn.getView/getViews iterate the holder's list: NPE (500) when it is null."""
    if folder.views is None:
        raise _Reply(500, "java.lang.NullPointerException: Cannot invoke "
                          "\"java.util.List.iterator()\" because \"views\" is null")
    return folder.views


# ---------------------------------------------------------------- jobs (workflow-job)


def xstream_job(root: ET.Element) -> str:
    """A Pipeline job as saved: plugin attributes, every property field written."""
    for element in root.iter():
        if element.tag in PLUGIN_ATTRS and element.tag != FOLDER_TAG:
            element.set("plugin", PLUGIN_ATTRS[element.tag])
        if element.tag == DISABLE_CONCURRENT and element.find("abortPrevious") is None:
            ET.SubElement(element, "abortPrevious").text = "false"
        for child in element:
            if child.text is not None and not child.text.strip():
                child.text = None
    return _render(root)


@dataclass(frozen=True)
class Declared:
    """What a declarative Jenkinsfile declares as job properties."""

    parameters: tuple[tuple[str, str, str], ...]  # (name, default, description)
    properties: tuple[ET.Element, ...]  # options {} that are job properties
    problems: tuple[str, ...]  # compile or validation errors: the build fails at startup


def _block(text: str, name: str) -> str | None:
    match = re.search(rf"^\s*{name}\s*\{{", text, re.MULTILINE)
    if match is None:
        return None
    depth, start = 1, match.end()
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start:index]
    return None


def _argument(call: str, key: str) -> str:
    match = re.search(rf"\b{key}\s*:\s*'([^']*)'", call)
    return match.group(1) if match else ""


def declared(jenkinsfile: str, plugins: frozenset[str]) -> Declared:
    problems = []
    for number, line in enumerate(jenkinsfile.splitlines(), 1):
        if re.search(r"\*\.\s*\w+\s*\(", line):  # CpsTransformer: isSpreadSafe() -> error
            problems.append(f"WorkflowScript: {number}: spread not yet supported for CPS "
                            "transformation")
    for word, plugin in PROVIDED_BY.items():
        if re.search(rf"^\s*{word}\b\s*[({{]", jenkinsfile, re.MULTILINE) and \
                plugin not in plugins:
            problems.append(f"Invalid option or step \"{word}\": plugin {plugin} is not "
                            "installed")
    parameters = []
    for call in re.findall(r"string\s*\(([^)]*)\)", _block(jenkinsfile, "parameters") or ""):
        parameters.append((_argument(call, "name"), _argument(call, "defaultValue"),
                           _argument(call, "description")))
    properties = []
    options = _block(jenkinsfile, "options") or ""
    if re.search(r"\bdisableConcurrentBuilds\s*\(", options):
        prop = ET.Element(DISABLE_CONCURRENT)
        abort = re.search(r"abortPrevious\s*:\s*(true|false)", options)
        ET.SubElement(prop, "abortPrevious").text = abort.group(1) if abort else "false"
        properties.append(prop)
    rotator = re.search(r"buildDiscarder\s*\(\s*logRotator\s*\(([^)]*)\)", options)
    if rotator:
        prop = ET.Element(DISCARDER)
        strategy = ET.SubElement(prop, "strategy", {"class": "hudson.tasks.LogRotator"})
        for tag, key in (("daysToKeep", "daysToKeepStr"), ("numToKeep", "numToKeepStr"),
                         ("artifactDaysToKeep", "artifactDaysToKeepStr"),
                         ("artifactNumToKeep", "artifactNumToKeepStr")):
            ET.SubElement(strategy, tag).text = _argument(rotator.group(1), key) or "-1"
        properties.append(prop)
    return Declared(tuple(parameters), tuple(properties), tuple(problems))


def apply_declared(job: Item, wanted: Declared) -> None:
    """Utils.updateJobProperties: what a declarative build does to its job, then save."""
    root = ET.fromstring(job.xml.encode("utf-8"))
    actions = root.find("actions")
    if actions is None:
        actions = ET.Element("actions")
        root.insert(0, actions)
    old = actions.find(TRACKER)
    before_params = {s.text for s in old.iterfind("parameters/string")} if old is not None \
        else set()
    before_props = {s.text for s in old.iterfind("jobProperties/string")} if old is not None \
        else set()
    properties = root.find("properties")
    if properties is None:
        properties = ET.SubElement(root, "properties")
    # Job properties: those the Jenkinsfile declared before and no longer does go; declared
    # ones replace the same class; the rest (the job's own) stay.
    now_props = {p.tag for p in wanted.properties}
    for prop in list(properties):
        if prop.tag in now_props or (prop.tag in before_props and prop.tag != PARAMS_TAG):
            properties.remove(prop)
    for prop in wanted.properties:
        properties.append(prop)
    # Parameters (getParametersToApply): drop the ones the Jenkinsfile declared before and no
    # longer does; the declared ones replace same-named ones; the job's others stay.
    now_params = {name for name, _, _ in wanted.parameters}
    holder = properties.find(PARAMS_TAG)
    definitions = holder.find("parameterDefinitions") if holder is not None else None
    kept: list[ET.Element] = []
    if definitions is not None:
        kept = [d for d in definitions if (d.findtext("name") or "") not in now_params
                and (d.findtext("name") or "") not in before_params]
    for name, default, description in wanted.parameters:
        string = ET.Element(STRING_PARAM)
        ET.SubElement(string, "name").text = name
        ET.SubElement(string, "description").text = description
        ET.SubElement(string, "defaultValue").text = default
        ET.SubElement(string, "trim").text = "false"
        kept.append(string)
    if holder is not None:
        properties.remove(holder)
    if kept:
        holder = ET.SubElement(properties, PARAMS_TAG)
        definitions = ET.SubElement(holder, "parameterDefinitions")
        definitions.extend(kept)
    if old is not None:
        actions.remove(old)
    tracker = ET.SubElement(actions, TRACKER)
    for tag, names in (("jobProperties", sorted(now_props)), ("triggers", []),
                       ("parameters", [n for n, _, _ in wanted.parameters]), ("options", [])):
        element = ET.SubElement(tracker, tag)
        for name in names:
            ET.SubElement(element, "string").text = name
    job.xml = xstream_job(root)


def _remote(config: str) -> tuple[str, str]:
    root = ET.fromstring(config.encode("utf-8"))
    url = root.findtext("definition/scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/"
                        "url") or ""
    spec = root.findtext("definition/scm/branches/hudson.plugins.git.BranchSpec/name") or ""
    return url, spec


def _is_local(url: str) -> bool:
    """GitSCM.abortIfSourceIsLocal: file:// URLs and paths that exist on the controller."""
    return url.startswith("file:") or (not re.match(r"^[\w+.-]+://", url)
                                       and not re.match(r"^[\w.-]+@", url)
                                       and Path(url).exists())


class _Reply(Exception):
    def __init__(self, status: int, body: Any = "", headers: dict[str, str] | None = None,
                 content_type: str = "text/plain;charset=utf-8") -> None:
        self.status, self.body, self.headers = status, body, headers or {}
        self.content_type = content_type


class _Drop(Exception):
    pass


class FakeJenkins:
    def __init__(self, *, user: str = "conveyor-bot", token: str = "t0ken-Secret-1234",
                 password: str = "pa55word-Secret", context: str = "/jenkins",
                 root_host: str = "localhost", quiet_period: float = DEFAULT_QUIET_PERIOD,
                 clock: Clock | None = None, allow_local_checkout: bool = False,
                 jenkinsfile: str | None = None,
                 plugins: frozenset[str] = DEFAULT_PLUGINS) -> None:
        self.user, self.token, self.password = user, token, password
        self.context = "/" + context.strip("/") if context.strip("/") else ""
        self.quiet_period = quiet_period
        self.clock = clock or Clock()
        self.allow_local_checkout = allow_local_checkout
        self.jenkinsfile = jenkinsfile  # used when the job's remote cannot be read here
        self.plugins = plugins
        self.starting = False
        self.root = Item("", "folder")
        self.queue: dict[int, QueueItem] = {}
        self.seen: list[Seen] = []
        self.faults: list[Fault] = []
        self.sessions: dict[str, str] = {}  # session id -> crumb
        # SecurityRealm: the cookie is JSESSIONID.<hash of this instance>, one name per Jenkins
        self.session_cookie = f"JSESSIONID.{secrets.token_hex(4)}"
        self.hang_seconds = 5.0
        self.lock = threading.RLock()
        self._queue_ids = itertools.count(100)
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}{self.context}/"  # what the client is given
        self.root_url = f"http://{root_host}:{port}{self.context}/"  # Jenkins' own idea
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeJenkins:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    # ---------------------------------------------------------------- test helpers

    def inject(self, method: str, path: str, kind: str = "status", *, status: int = 503,
               body: str = "", times: int = 1, skip: int = 0) -> None:
        with self.lock:
            self.faults.append(Fault(method, path, kind, status, body, times, skip))

    def posts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST"]

    def item(self, full_name: str) -> Item | None:
        node = self.root
        for part in full_name.split("/"):
            child = node.children.get(part)
            if child is None:
                return None
            node = child
        return node

    def builds(self, job: str) -> list[Build]:
        item = self.item(job)
        return list(item.builds) if item else []

    def build(self, job: str, number: int) -> Build:
        for build in self.builds(job):
            if build.number == number:
                return build
        raise KeyError(f"{job}#{number}")

    def advance(self, seconds: float) -> None:
        """Let Jenkins' time pass: quiet periods end, left items expire."""
        with self.lock:
            self.clock.advance(seconds)
            self.maintain()

    def start_all(self) -> None:
        """Let every queued item start now, quiet period or not (as "Build Now" would)."""
        with self.lock:
            for queued in self.queue.values():
                queued.quiet_until = min(queued.quiet_until, self.clock.now())
            self.maintain()

    def finish(self, job: str, number: int, result: str = "SUCCESS") -> None:
        with self.lock:
            self.build(job, number).result = result
            self.maintain()  # a blocked item may start now

    def add_job(self, full_name: str, config: str) -> None:
        with self.lock:
            parent_name, _, short = full_name.rpartition("/")
            parent = self.item(parent_name) if parent_name else self.root
            assert parent is not None and parent.kind == "folder"
            root = ET.fromstring(config.encode())
            item = Item(short, "folder" if root.tag == FOLDER_TAG else "job")
            update_by_xml(item, root)
            parent.children[short] = item

    def approve(self, job: str, number: int, user: str) -> None:
        """A user presses the input step's "Promote": pipeline-input-step
        InputStepExecution.proceed adds `ApproverAction(User.current().getId())` to the run
        (ApproverAction.java: an InvisibleAction, @ExportedBean, `userId` @Exported), and
        `submitterParameter` hands the same id to the stage as an environment variable."""
        self.build(job, number).approvers.append(user)

    def environment(self, job: str, number: int) -> dict[str, str]:
        """What `sh` sees in a build (Run.getEnvironment, ParametersAction): params and more."""
        build = self.build(job, number)
        return {**build.parameters, "BUILD_NUMBER": str(number), "BUILD_ID": str(number),
                "JOB_NAME": job, "JOB_BASE_NAME": job.rsplit("/", 1)[-1],
                "BUILD_TAG": f"jenkins-{job.replace('/', '-')}-{number}",
                "JENKINS_URL": self.root_url, "JOB_URL": self.job_url(job),
                "BUILD_URL": f"{self.job_url(job)}{number}/"}

    # ---------------------------------------------------------------- model

    def job_url(self, full_name: str) -> str:
        return self.root_url + "".join(f"job/{urllib.parse.quote(p, safe='')}/"
                                       for p in full_name.split("/"))

    def maintain(self) -> None:
        """Queue.maintain: items whose quiet period is over start unless blocked; left
        items older than five minutes are forgotten."""
        now = self.clock.now()
        for queued in list(self.queue.values()):
            if queued.left_at is not None:
                if now - queued.left_at >= LEFT_ITEM_TTL:
                    del self.queue[queued.id]
                continue
            if now < queued.quiet_until:
                queued.why = f"In the quiet period. Expires in {queued.quiet_until - now:.0f} sec"
                continue
            job = self.item(queued.job)
            assert job is not None
            running = [b for b in job.builds if b.result is None]
            if running and DISABLE_CONCURRENT in job.xml:
                queued.why = f"Build #{running[-1].number} is already in progress"
                continue
            self._start(queued, job, now)

    def _start(self, queued: QueueItem, job: Item, now: float) -> None:
        number = job.next_build
        job.next_build += 1
        build = Build(number, queued.parameters, queued.id)
        job.builds.append(build)
        queued.build, queued.left_at = number, now
        self._load_pipeline(job, build)

    def _load_pipeline(self, job: Item, build: Build) -> None:
        """CpsScmFlowDefinition.create: check the Jenkinsfile out on the controller, compile
        it, then run the declarative properties (ModelInterpreter: executeProperties)."""
        url, spec = _remote(job.xml)
        revision = re.sub(r"\$\{(\w+)\}", lambda m: build.parameters.get(m.group(1), ""), spec)
        text = self.jenkinsfile
        if url and _is_local(url):
            if not self.allow_local_checkout:
                build.log.append(
                    f"Checkout of Git remote '{url}' aborted because it references a local "
                    "directory, which may be insecure. You can allow local checkouts anyway "
                    "by setting the system property "
                    "'hudson.plugins.git.GitSCM.ALLOW_LOCAL_CHECKOUT' to true.")
                build.result = "FAILURE"
                return
            shown = subprocess.run(
                ["git", "--git-dir", url.removeprefix("file://"), "show",
                 f"{revision}:Jenkinsfile"], capture_output=True, text=True, timeout=30)
            if shown.returncode != 0:
                build.log.append(f"Couldn't find any revision to build: {revision}")
                build.result = "FAILURE"
                return
            text = shown.stdout
        if text is None:
            return
        wanted = declared(text, self.plugins)
        if wanted.problems:
            build.log.append("org.codehaus.groovy.control.MultipleCompilationErrorsException: "
                             "startup failed:")
            build.log.extend(wanted.problems)
            build.result = "FAILURE"
            return
        apply_declared(job, wanted)

    def build_json(self, job: str, build: Build) -> dict[str, Any]:
        return {
            "_class": RUN_CLASS,
            "number": build.number,
            "url": f"{self.job_url(job)}{build.number}/",
            "result": build.result,
            "building": build.result is None,
            "queueId": build.queue_id,
            "actions": [
                {"_class": "hudson.model.ParametersAction",
                 "parameters": [{"_class": "hudson.model.StringParameterValue", "name": k,
                                 "value": v} for k, v in build.parameters.items()]},
                {"_class": "hudson.model.CauseAction",
                 "causes": [{"_class": "hudson.model.Cause$UserIdCause", "userId": self.user}]},
                *({"_class": "org.jenkinsci.plugins.workflow.support.steps.input."
                             "ApproverAction", "userId": user} for user in build.approvers),
            ],
        }

    def queue_json(self, queued: QueueItem) -> dict[str, Any]:
        """Queue.Item exports; only a LeftItem exports `executable` and `cancelled`."""
        left = queued.left_at is not None
        kind = ("LeftItem" if left else "BlockedItem" if queued.why.startswith("Build #")
                else "WaitingItem" if self.clock.now() < queued.quiet_until else "BuildableItem")
        data: dict[str, Any] = {
            "_class": f"hudson.model.Queue${kind}",
            "id": queued.id,
            "url": f"queue/item/{queued.id}/",
            "inQueueSince": int(queued.since * 1000),
            "task": {"_class": JOB_CLASS, "name": queued.job.rsplit("/", 1)[-1],
                     "fullName": queued.job, "url": self.job_url(queued.job)},
            "actions": [{"_class": "hudson.model.ParametersAction",
                         "parameters": [{"name": k, "value": v}
                                        for k, v in queued.parameters.items()]}],
        }
        if left:
            data["cancelled"] = queued.cancelled
            data["executable"] = None if queued.build is None else {
                "_class": RUN_CLASS, "number": queued.build,
                "url": f"{self.job_url(queued.job)}{queued.build}/"}
        else:
            data["why"] = queued.why or "Waiting for next available executor"
        return data


def _json(data: Any) -> _Reply:
    return _Reply(200, json.dumps(data), content_type="application/json;charset=utf-8")


def _xml(text: str) -> _Reply:
    return _Reply(200, text, content_type="application/xml;charset=utf-8")


def _handler(fake: FakeJenkins) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urllib.parse.urlsplit(self.path)
            auth, status = "none", 0
            cookies: dict[str, str] = {}
            fault: Fault | None = None
            try:
                fault = self._fault(method, parts.path)
                if fault and fault.kind == "hang":
                    fake._stop.wait(fake.hang_seconds)
                    raise _Drop
                if fault and fault.kind == "drop":
                    raise _Drop
                if fault and fault.kind == "status":
                    raise _Reply(fault.status, fault.body or f"fault {fault.status}")
                if fake.starting:  # HudsonIsLoading: every page is 503 until loaded
                    raise _Reply(503, "<html><body>Please wait while Jenkins is getting ready "
                                      "to work...</body></html>",
                                 content_type="text/html;charset=utf-8")
                if not (parts.path + "/").startswith(fake.context + "/"):
                    raise _Reply(404, "Not Found")  # outside the servlet's context path
                path = parts.path[len(fake.context):] or "/"
                auth = self._authenticate()
                cookies = self._session(auth, method, path)
                with fake.lock:
                    fake.maintain()
                    route(fake, method, path, urllib.parse.parse_qs(parts.query), body,
                          self.headers.get("Content-Type", ""), self._origin())
                raise AssertionError("route must reply")
            except _Drop:
                status = -1
                self.close_connection = True
            except _Reply as reply:
                status = reply.status
                if fault and fault.kind == "drop-after":
                    status = -1
                    self.close_connection = True
                else:
                    headers = dict(reply.headers)
                    headers.update(cookies)
                    self._record(method, status, auth, body)  # before the client sees it
                    self._send(reply, headers)
                    return
            self._record(method, status, auth, body)

        def _origin(self) -> str:
            """Stapler makes a redirect absolute from the request, not from the root URL."""
            return f"http://{self.headers.get('Host', '127.0.0.1')}{fake.context}"

        def _record(self, method: str, status: int, auth: str, body: bytes) -> None:
            with fake.lock:
                fake.seen.append(Seen(method, self.path, status, auth,
                                      dict(self.headers.items()), body))

        def _fault(self, method: str, path: str) -> Fault | None:
            with fake.lock:
                for fault in fake.faults:
                    if fault.times > 0 and fault.method == method and fault.path in path:
                        if fault.skip > 0:
                            fault.skip -= 1
                            continue
                        fault.times -= 1
                        return fault
            return None

        def _authenticate(self) -> str:
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                raise _Reply(403, "Authentication required",
                             {"X-You-Are-Authenticated-As": "anonymous"})
            try:
                user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise _Reply(401, "Invalid authorization header") from None
            if user == fake.user and secret == fake.token:
                return "token"  # BasicHeaderApiTokenAuthenticator: no session, no crumb
            if user == fake.user and secret == fake.password:
                return "password"
            # BasicHeaderProcessor
            raise _Reply(401, "Invalid password/token for user: " + user)

        def _session(self, auth: str, method: str, path: str) -> dict[str, str]:
            """Password logins are sessions: POSTs need the crumb of the session's cookie."""
            if auth != "password":
                return {}
            match = re.search(rf"{re.escape(fake.session_cookie)}=([\w-]+)",
                              self.headers.get("Cookie", ""))
            session = match.group(1) if match else None
            headers = {}
            if session is None or session not in fake.sessions:
                session = secrets.token_hex(8)
                with fake.lock:
                    fake.sessions[session] = secrets.token_hex(16)
                headers["Set-Cookie"] = (f"{fake.session_cookie}={session}; "
                                         f"Path={fake.context or '/'}; HttpOnly")
            if path.rstrip("/").endswith("crumbIssuer/api/json"):
                raise _Reply(200, json.dumps({
                    "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                    "crumb": fake.sessions[session], "crumbRequestField": "Jenkins-Crumb"}),
                    headers, "application/json;charset=utf-8")
            if method == "POST" and self.headers.get("Jenkins-Crumb") != fake.sessions[session]:
                raise _Reply(403, f"<html><body>{NO_CRUMB}</body></html>", headers,
                             "text/html;charset=utf-8")
            return headers

        def _send(self, reply: _Reply, headers: dict[str, str]) -> None:
            payload = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Jenkins", "2.462.3")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


# ---------------------------------------------------------------- routing


def _walk(fake: FakeJenkins, path: str) -> tuple[Item, str, list[str]]:
    """Follow /job/a/job/b/ segments: (item, its full name, the remaining segments)."""
    segments = [urllib.parse.unquote(s) for s in path.strip("/").split("/") if s]
    item, names = fake.root, list[str]()
    while len(segments) >= 2 and segments[0] == "job":
        child = item.children.get(segments[1])
        if child is None:
            raise _Reply(404, "Not Found")
        item, names, segments = child, [*names, segments[1]], segments[2:]
    return item, "/".join(names), segments


def _well_formed(body: bytes) -> ET.Element:
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise _Reply(500, f"java.io.IOException: Unable to read: {exc}") from None


def _xml_content(content_type: str) -> None:
    """ItemGroupMixIn.createTopLevelItem / View.create want an XML Content-Type."""
    if content_type.split(";")[0].strip() not in ("application/xml", "text/xml"):
        raise _Reply(400, "No mode given" if not content_type else
                     f"Unsupported Content-Type {content_type}")


def route(fake: FakeJenkins, method: str, path: str, query: dict[str, list[str]], body: bytes,
          content_type: str, origin: str) -> None:
    if path.startswith("/queue/"):
        _queue(fake, method, path)
    if path.startswith("/me/api/json") and method == "GET":
        raise _json({"_class": "hudson.model.User", "id": fake.user, "fullName": fake.user})
    if path.rstrip("/").endswith("crumbIssuer/api/json"):
        # API-token callers may still ask; Jenkins issues a crumb they do not need.
        raise _json({"_class": "hudson.security.csrf.DefaultCrumbIssuer",
                     "crumb": secrets.token_hex(16), "crumbRequestField": "Jenkins-Crumb"})
    item, name, rest = _walk(fake, path)
    if rest and rest[0] == "view" and len(rest) >= 2 and item.kind == "folder":
        _view(fake, method, item, name, rest[1], rest[2:], body, origin)
    action = "/".join(rest)
    if method == "GET" and action == "api/json":
        raise _json(_item_json(fake, item, name))
    if method == "GET" and action == "":
        if item.kind == "folder" and item is not fake.root:
            _views_of(item)  # the folder page renders its views
        raise _Reply(200, f"<html><body>{name or 'Dashboard'}</body></html>",
                     content_type="text/html;charset=utf-8")
    if action == "config.xml" and item is not fake.root:
        if method == "GET":
            raise _xml(item.config)
        update_by_xml(item, _well_formed(body))
        raise _Reply(200, "")
    if method == "POST" and action in ("createItem", "createView") and item.kind == "folder":
        new = (query.get("name") or [""])[0]
        if not new or "/" in new:
            raise _Reply(400, "No name is specified")
        _xml_content(content_type)
        root = _well_formed(body)
        if action == "createItem":
            if new in item.children:
                raise _Reply(400, f"A job already exists with the name ‘{new}’")
            child = Item(new, "folder" if root.tag == FOLDER_TAG else "job")
            update_by_xml(child, root)
            item.children[new] = child
        else:
            views = _views_of(item)  # View.create asks owner.getView(name) first
            if new in views or new == "All":
                raise _Reply(400, f"A view already exists with the name \"{new}\"")
            name_element = root.find("name")
            if name_element is not None:
                name_element.text = new
            views[new] = ET.tostring(root, encoding="unicode")
        raise _Reply(200, "")
    if method == "POST" and action == "doDelete" and item is not fake.root:
        parent_name = name.rpartition("/")[0]
        parent = fake.item(parent_name) if parent_name else fake.root
        assert parent is not None
        if item.kind == "folder":
            _views_of(item)  # AbstractFolder.onDeleted walks the views
        del parent.children[item.name]
        raise _Reply(302, "", {"Location": origin + "/" + "".join(
            f"job/{p}/" for p in parent_name.split("/") if p)})
    if method == "POST" and action in ("build", "buildWithParameters") and item.kind == "job":
        _trigger(fake, item, name, query, body, content_type, origin)
    if method == "GET" and len(rest) == 3 and rest[0].isdigit() and rest[1:] == ["api", "json"]:
        for build in item.builds:
            if build.number == int(rest[0]):
                raise _json(fake.build_json(name, build))
    if method == "GET" and len(rest) == 2 and rest[0].isdigit() and rest[1] == "consoleText":
        for build in item.builds:
            if build.number == int(rest[0]):
                raise _Reply(200, "\n".join(build.log) + "\n")
    raise _Reply(404, "Not Found")


def _view(fake: FakeJenkins, method: str, folder: Item, folder_name: str, view: str,
          rest: list[str], body: bytes, origin: str) -> None:
    views = _views_of(folder)
    if view not in views:
        raise _Reply(404, "Not Found")
    action = "/".join(rest)
    if action == "config.xml" and method == "GET":
        raise _xml("<?xml version='1.1' encoding='UTF-8'?>\n" + views[view])
    if action == "config.xml" and method == "POST":
        root = _well_formed(body)
        name_element = root.find("name")  # View.updateByXml keeps the view's name
        if name_element is not None:
            name_element.text = view
        views[view] = ET.tostring(root, encoding="unicode")
        raise _Reply(200, "")
    if action == "api/json" and method == "GET":
        root = ET.fromstring(views[view].encode("utf-8"))
        jobs = [s.text or "" for s in root.iterfind("jobNames/string")]
        raise _json({"_class": "hudson.model.ListView", "name": view,
                     "jobs": [{"name": j, "url": fake.job_url(f"{folder_name}/{j}")}
                              for j in jobs]})
    if action == "doDelete" and method == "POST":
        del views[view]
        raise _Reply(302, "", {"Location": origin + "/" + "".join(
            f"job/{p}/" for p in folder_name.split("/"))})
    raise _Reply(404, "Not Found")


def _item_json(fake: FakeJenkins, item: Item, name: str) -> dict[str, Any]:
    if item.kind == "folder":
        views = {} if item is fake.root else _views_of(item)  # `views` is @Exported
        data: dict[str, Any] = {
            "_class": "hudson.model.Hudson" if item is fake.root else FOLDER_TAG,
            "jobs": [{"_class": FOLDER_TAG if c.kind == "folder" else JOB_CLASS,
                      "name": c.name,
                      "url": fake.job_url(f"{name}/{c.name}" if name else c.name),
                      "description": c.description if c.kind == "folder" else
                      ET.fromstring(c.xml.encode()).findtext("description")}
                     for c in item.children.values()],
            "views": [{"_class": "hudson.model.AllView", "name": "All"}] + [
                {"_class": "hudson.model.ListView", "name": v} for v in views],
        }
        if item is not fake.root:
            data.update(name=item.name, fullName=name, url=fake.job_url(name),
                        description=item.description)
        else:
            data["url"] = fake.root_url
        return data
    builds = [fake.build_json(name, b) for b in reversed(item.builds)][:100]  # Job.builds
    return {
        "_class": JOB_CLASS,
        "name": item.name, "fullName": name, "url": fake.job_url(name),
        "description": ET.fromstring(item.xml.encode()).findtext("description"),
        "buildable": "<disabled>true</disabled>" not in item.xml,
        "property": [{"_class": PARAMS_TAG,
                      "parameterDefinitions": [
                          {"_class": STRING_PARAM, "name": n,
                           "type": "StringParameterDefinition",
                           "defaultParameterValue": {"name": n, "value": d}}
                          for n, d in _declared(item.xml)]}],
        "builds": builds,
        "lastBuild": builds[0] if builds else None,
        "inQueue": any(q.job == name and q.left_at is None for q in fake.queue.values()),
        "nextBuildNumber": item.next_build,
    }


def _trigger(fake: FakeJenkins, item: Item, name: str, query: dict[str, list[str]],
             body: bytes, content_type: str, origin: str) -> None:
    if "<disabled>true</disabled>" in item.xml:  # ParameterizedJobMixIn.doBuild*: 409
        raise _Reply(409, f"{name} is not buildable")
    sent = {k: v[-1] for k, v in query.items()}
    if body and "application/x-www-form-urlencoded" in content_type:
        sent.update({k: v[-1] for k, v in urllib.parse.parse_qs(
            body.decode("utf-8"), keep_blank_values=True).items()})
    declared_parameters = _declared(item.xml)
    if not declared_parameters:
        raise _Reply(400, f"{name} is not parameterized")
    # Only definitions are iterated: undeclared names are dropped (SECURITY-170), absent
    # ones take their default (StringParameterDefinition.createValue).
    parameters = {n: sent.get(n, default) for n, default in declared_parameters}
    for queued in fake.queue.values():  # Queue.scheduleInternal / ParametersAction
        if queued.job == name and queued.left_at is None and queued.parameters == parameters:
            raise _Reply(303, "", {"Location": f"{origin}/queue/item/{queued.id}/"})
    now = fake.clock.now()
    queued = QueueItem(next(fake._queue_ids), name, parameters, now, now + fake.quiet_period)
    fake.queue[queued.id] = queued
    fake.maintain()
    raise _Reply(201, "", {"Location": f"{origin}/queue/item/{queued.id}/"})


def _queue(fake: FakeJenkins, method: str, path: str) -> None:
    if method == "GET" and path.rstrip("/") == "/queue/api/json":
        raise _json({"_class": "hudson.model.Queue",
                     "items": [fake.queue_json(q) for q in fake.queue.values()
                               if q.left_at is None]})
    match = re.fullmatch(r"/queue/item/(\d+)/api/json", path)
    if method == "GET" and match and int(match.group(1)) in fake.queue:
        raise _json(fake.queue_json(fake.queue[int(match.group(1))]))
    match = re.fullmatch(r"/queue/item/(\d+)/?", path)
    if method == "GET" and match and int(match.group(1)) in fake.queue:
        # What a client following a 303 with GET ends up reading (Queue.Item index page).
        raise _Reply(200, "Queue item exists. For now, the only API is "
                          f"{fake.root_url}queue/item/{match.group(1)}/api/")
    raise _Reply(404, "Not Found")


def running(**kwargs: Any) -> Iterator[FakeJenkins]:
    """Generator for a pytest fixture: a started fake, stopped afterwards."""
    fake = FakeJenkins(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False
