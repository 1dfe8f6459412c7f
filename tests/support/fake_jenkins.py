"""A strict in-process fake of the Jenkins HTTP API, written from Jenkins' documentation.

Served over real HTTP on 127.0.0.1 (ThreadingHTTPServer in a thread, free port), so
python-jenkins and requests run unchanged against it. What it models (Remote Access API,
CSRF protection, Folders, Pipeline jobs, list views, the build queue):

- Authentication: anonymous read is disabled (no credentials -> 403); a wrong user or token
  -> 401. HTTP Basic with an API token needs no crumb (Jenkins >= 2.96); Basic with a
  password opens a session (JSESSIONID cookie) and every POST then needs the crumb issued
  for that session by /crumbIssuer/api/json, else `403 No valid crumb was included`.
- Items: folders (`com.cloudbees.hudson.plugins.folder.Folder`) holding jobs and views,
  addressed as /job/folder/job/name/; config.xml GET/POST (posted XML must be well-formed);
  createItem?name= (400 if it exists); createView?name=; doDelete (302 to the parent).
  A folder's config.xml carries its views, as in Jenkins; posting a folder config without
  <views> resets them to the default "All" view.
- Builds: buildWithParameters -> 201 + Location: <root>/queue/item/<id>/; parameters the
  job does not declare are dropped silently, undeclared defaults filled in (as Jenkins
  does). /queue/item/<id>/api/json shows `executable: {number, url}` after `start_after`
  polls; builds carry `actions: [{parameters: [...]}]`, `result` and `building`.
- Faults (`inject`): an HTTP status, a dropped connection before or after the request was
  processed (a build is still queued), or a hang.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FOLDER_TAG = "com.cloudbees.hudson.plugins.folder.Folder"
NO_CRUMB = "No valid crumb was included in the request"


@dataclass
class Build:
    number: int
    parameters: dict[str, str]
    queue_id: int
    result: str | None = None  # SUCCESS | FAILURE | ABORTED | UNSTABLE, None while building


@dataclass
class Item:
    name: str
    kind: str  # folder | job
    config: str
    children: dict[str, Item] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)  # list views of a folder: name -> XML
    builds: list[Build] = field(default_factory=list)
    next_build: int = 1


@dataclass
class QueueItem:
    id: int
    job: str  # full name
    parameters: dict[str, str]
    polls: int = 0
    build: int | None = None
    cancelled: bool = False


@dataclass
class Fault:
    method: str
    path: str  # substring of the request path
    kind: str  # status | drop | drop-after | hang
    status: int = 503
    body: str = ""
    times: int = 1


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
    for prop in root.iter("hudson.model.ParametersDefinitionProperty"):
        for definition in prop.iter():
            if definition.tag.endswith("ParameterDefinition"):
                result.append((definition.findtext("name") or "",
                               definition.findtext("defaultValue") or ""))
    return result


class FakeJenkins:
    def __init__(self, *, user: str = "conveyor-bot", token: str = "t0ken-Secret-1234",
                 password: str = "pa55word-Secret", start_after: int = 1) -> None:
        self.user, self.token, self.password = user, token, password
        self.start_after = start_after  # queue item polls before it gets an executable
        self.root = Item("", "folder", "")
        self.queue: dict[int, QueueItem] = {}
        self.seen: list[Seen] = []
        self.faults: list[Fault] = []
        self.sessions: dict[str, str] = {}  # JSESSIONID -> crumb
        self.hang_seconds = 5.0
        self.lock = threading.RLock()
        self._queue_ids = itertools.count(100)
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
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
               body: str = "", times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(method, path, kind, status, body, times))

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

    def start_all(self) -> None:
        with self.lock:
            for queued in self.queue.values():
                self._start(queued)

    def finish(self, job: str, number: int, result: str = "SUCCESS") -> None:
        with self.lock:
            item = self.item(job)
            assert item is not None
            for build in item.builds:
                if build.number == number:
                    build.result = result

    def add_job(self, full_name: str, config: str) -> None:
        with self.lock:
            parent_name, _, short = full_name.rpartition("/")
            parent = self.item(parent_name) if parent_name else self.root
            assert parent is not None and parent.kind == "folder"
            kind = "folder" if ET.fromstring(config.encode()).tag == FOLDER_TAG else "job"
            parent.children[short] = Item(short, kind, config)

    # ---------------------------------------------------------------- model

    def _start(self, queued: QueueItem) -> None:
        if queued.build is not None or queued.cancelled:
            return
        job = self.item(queued.job)
        assert job is not None
        number = job.next_build
        job.next_build += 1
        job.builds.append(Build(number, queued.parameters, queued.id))
        queued.build = number

    def job_url(self, full_name: str) -> str:
        return self.url + "".join(f"job/{urllib.parse.quote(p)}/" for p in full_name.split("/"))

    def build_json(self, job: str, build: Build) -> dict[str, Any]:
        return {
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
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
            ],
        }

    def queue_json(self, queued: QueueItem) -> dict[str, Any]:
        data: dict[str, Any] = {
            "_class": "hudson.model.Queue$WaitingItem" if queued.build is None
            else "hudson.model.Queue$LeftItem",
            "id": queued.id,
            "url": f"queue/item/{queued.id}/",
            "task": {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                     "name": queued.job.rsplit("/", 1)[-1], "url": self.job_url(queued.job)},
            "actions": [{"_class": "hudson.model.ParametersAction",
                         "parameters": [{"name": k, "value": v}
                                        for k, v in queued.parameters.items()]}],
            "cancelled": queued.cancelled,
            "executable": None,
        }
        if queued.build is not None:
            data["executable"] = {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                                  "number": queued.build,
                                  "url": f"{self.job_url(queued.job)}{queued.build}/"}
        else:
            data["why"] = "Waiting for next available executor"
        return data

    def folder_config(self, folder: Item) -> str:
        root = ET.fromstring(folder.config.encode("utf-8"))
        for tag in ("views", "primaryView"):
            for old in root.findall(tag):
                root.remove(old)
        views = ET.SubElement(root, "views")
        all_view = ET.SubElement(views, "hudson.model.AllView")
        ET.SubElement(all_view, "name").text = "All"
        for xml in folder.views.values():
            views.append(ET.fromstring(xml.encode("utf-8")))
        ET.SubElement(root, "primaryView").text = "All"
        return "<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode")


class _Reply(Exception):
    def __init__(self, status: int, body: Any = "", headers: dict[str, str] | None = None,
                 content_type: str = "text/plain;charset=utf-8") -> None:
        self.status, self.body, self.headers = status, body, headers or {}
        self.content_type = content_type


class _Drop(Exception):
    pass


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
                auth = self._authenticate()
                cookies = self._session(auth, method, parts.path)
                with fake.lock:
                    route(fake, method, parts.path, urllib.parse.parse_qs(parts.query), body,
                          self.headers.get("Content-Type", ""))
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

        def _record(self, method: str, status: int, auth: str, body: bytes) -> None:
            with fake.lock:
                fake.seen.append(Seen(method, self.path, status, auth,
                                      dict(self.headers.items()), body))

        def _fault(self, method: str, path: str) -> Fault | None:
            with fake.lock:
                for fault in fake.faults:
                    if fault.times > 0 and fault.method == method and fault.path in path:
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
                return "token"
            if user == fake.user and secret == fake.password:
                return "password"
            raise _Reply(401, "Invalid password/token for user: " + user)

        def _session(self, auth: str, method: str, path: str) -> dict[str, str]:
            """Password logins are sessions: POSTs need the crumb of the session's cookie."""
            if auth != "password":
                return {}
            match = re.search(r"JSESSIONID=([\w-]+)", self.headers.get("Cookie", ""))
            session = match.group(1) if match else None
            headers = {}
            if session is None or session not in fake.sessions:
                session = secrets.token_hex(8)
                with fake.lock:
                    fake.sessions[session] = secrets.token_hex(16)
                headers["Set-Cookie"] = f"JSESSIONID={session}; Path=/; HttpOnly"
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
        raise _Reply(400, f"Failed to parse XML: {exc}") from None


def route(fake: FakeJenkins, method: str, path: str, query: dict[str, list[str]], body: bytes,
          content_type: str) -> None:
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
        _view(fake, method, item, name, rest[1], rest[2:], body)
    action = "/".join(rest)
    if method == "GET" and action == "api/json":
        raise _json(_item_json(fake, item, name))
    if method == "GET" and action == "":
        raise _Reply(200, f"<html><body>{name or 'Dashboard'}</body></html>",
                     content_type="text/html;charset=utf-8")
    if action == "config.xml" and item is not fake.root:
        if method == "GET":
            raise _xml(fake.folder_config(item) if item.kind == "folder" else item.config)
        root = _well_formed(body)
        if item.kind == "folder":
            views = root.find("views")
            item.views = {} if views is None else {
                v.findtext("name") or "": ET.tostring(v, encoding="unicode")
                for v in views if v.tag != "hudson.model.AllView"}
        item.config = body.decode("utf-8")
        raise _Reply(200, "")
    if method == "POST" and action in ("createItem", "createView") and item.kind == "folder":
        new = (query.get("name") or [""])[0]
        if not new or "/" in new:
            raise _Reply(400, "No name is specified")
        root = _well_formed(body)
        if action == "createItem":
            if new in item.children:
                raise _Reply(400, f"A job already exists with the name '{new}'")
            kind = "folder" if root.tag == FOLDER_TAG else "job"
            item.children[new] = Item(new, kind, body.decode("utf-8"))
        else:
            if new in item.views or new == "All":
                raise _Reply(400, f"A view already exists with the name \"{new}\"")
            name_element = root.find("name")
            if name_element is not None:
                name_element.text = new
            item.views[new] = ET.tostring(root, encoding="unicode")
        raise _Reply(200, "")
    if method == "POST" and action == "doDelete" and item is not fake.root:
        parent_name = name.rpartition("/")[0]
        parent = fake.item(parent_name) if parent_name else fake.root
        assert parent is not None
        del parent.children[item.name]
        raise _Reply(302, "", {"Location": fake.job_url(parent_name) if parent_name
                               else fake.url})
    if method == "POST" and action in ("build", "buildWithParameters") and item.kind == "job":
        _trigger(fake, item, name, query, body, content_type)
    if method == "GET" and len(rest) == 3 and rest[0].isdigit() and rest[1:] == ["api", "json"]:
        for build in item.builds:
            if build.number == int(rest[0]):
                raise _json(fake.build_json(name, build))
    raise _Reply(404, "Not Found")


def _view(fake: FakeJenkins, method: str, folder: Item, folder_name: str, view: str,
          rest: list[str], body: bytes) -> None:
    if view not in folder.views:
        raise _Reply(404, "Not Found")
    action = "/".join(rest)
    if action == "config.xml" and method == "GET":
        raise _xml("<?xml version='1.1' encoding='UTF-8'?>\n" + folder.views[view])
    if action == "config.xml" and method == "POST":
        _well_formed(body)
        folder.views[view] = body.decode("utf-8").split("?>", 1)[-1].strip()
        raise _Reply(200, "")
    if action == "api/json" and method == "GET":
        root = ET.fromstring(folder.views[view].encode("utf-8"))
        jobs = [s.text or "" for s in root.iterfind("jobNames/string")]
        raise _json({"_class": "hudson.model.ListView", "name": view,
                     "jobs": [{"name": j, "url": fake.job_url(f"{folder_name}/{j}")}
                              for j in jobs]})
    if action == "doDelete" and method == "POST":
        del folder.views[view]
        raise _Reply(302, "", {"Location": fake.job_url(folder_name)})
    raise _Reply(404, "Not Found")


def _item_json(fake: FakeJenkins, item: Item, name: str) -> dict[str, Any]:
    if item.kind == "folder":
        data: dict[str, Any] = {
            "_class": "hudson.model.Hudson" if item is fake.root else FOLDER_TAG,
            "jobs": [{"_class": FOLDER_TAG if c.kind == "folder"
                      else "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                      "name": c.name,
                      "url": fake.job_url(f"{name}/{c.name}" if name else c.name),
                      "description": ET.fromstring(c.config.encode()).findtext("description")}
                     for c in item.children.values()],
            "views": [{"_class": "hudson.model.AllView", "name": "All"}] + [
                {"_class": "hudson.model.ListView", "name": v} for v in item.views],
        }
        if item is not fake.root:
            data.update(name=item.name, fullName=name, url=fake.job_url(name))
        else:
            data["url"] = fake.url
        return data
    builds = [fake.build_json(name, b) for b in reversed(item.builds)]
    return {
        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
        "name": item.name, "fullName": name, "url": fake.job_url(name),
        "description": ET.fromstring(item.config.encode()).findtext("description"),
        "property": [{"_class": "hudson.model.ParametersDefinitionProperty",
                      "parameterDefinitions": [
                          {"_class": "hudson.model.StringParameterDefinition", "name": n,
                           "type": "StringParameterDefinition",
                           "defaultParameterValue": {"name": n, "value": d}}
                          for n, d in _declared(item.config)]}],
        "builds": builds,
        "lastBuild": builds[0] if builds else None,
        "inQueue": any(q.job == name and q.build is None for q in fake.queue.values()),
        "nextBuildNumber": item.next_build,
    }


def _trigger(fake: FakeJenkins, item: Item, name: str, query: dict[str, list[str]],
             body: bytes, content_type: str) -> None:
    sent = {k: v[-1] for k, v in query.items()}
    if body and "application/x-www-form-urlencoded" in content_type:
        sent.update({k: v[-1] for k, v in urllib.parse.parse_qs(
            body.decode("utf-8"), keep_blank_values=True).items()})
    declared = _declared(item.config)
    if not declared:
        raise _Reply(400, f"{name} is not parameterized")
    # Undeclared parameters are dropped silently (SECURITY-170); defaults fill the rest.
    parameters = {n: sent.get(n, default) for n, default in declared}
    queued = QueueItem(next(fake._queue_ids), name, parameters)
    fake.queue[queued.id] = queued
    if fake.start_after <= 0:
        fake._start(queued)
    raise _Reply(201, "", {"Location": f"{fake.url}queue/item/{queued.id}/"})


def _queue(fake: FakeJenkins, method: str, path: str) -> None:
    if method == "GET" and path.rstrip("/") == "/queue/api/json":
        raise _json({"_class": "hudson.model.Queue",
                     "items": [fake.queue_json(q) for q in fake.queue.values()
                               if q.build is None and not q.cancelled]})
    match = re.fullmatch(r"/queue/item/(\d+)/api/json", path)
    if method == "GET" and match and int(match.group(1)) in fake.queue:
        queued = fake.queue[int(match.group(1))]
        queued.polls += 1
        if queued.polls >= fake.start_after:
            fake._start(queued)
        raise _json(fake.queue_json(queued))
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
