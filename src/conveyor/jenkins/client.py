"""Talking to Jenkins: credentials, transport policy and error classes around python-jenkins.

- Credentials come from the environment (`jenkins.user_env` / `jenkins.token_env`) or from
  `jenkins.credentials_file` (TOML `user`/`token`, or one `user:token` line) that only its
  owner may read. They are registered with `redact` before any request is made.
- The API token goes as preemptive HTTP Basic auth. Modern Jenkins needs no crumb with an API
  token, so none is fetched; when Jenkins answers `403 No valid crumb` (a password, i.e. a
  session) a crumb is fetched from /crumbIssuer/api/json and the request is sent once more.
- The token never goes over plain http:// unless `jenkins.allow_plain_http` or the host is
  this machine.
- Every call has a timeout. 401, 403 and 404 become `Refusal`; connection errors, timeouts
  and 5xx become `Retryable` (`Unclear` when a state change may have happened anyway).
  Messages are scrubbed: no token, no URL credentials.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jenkins
import requests

from conveyor.config.model import Settings
from conveyor.errors import ConveyorError, Refusal, Retryable
from conveyor.util.redact import redact, register_secret

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
NO_CRUMB = "No valid crumb"


class NotFound(Refusal):
    """404: the job, view or queue item does not exist."""


class Unclear(Retryable):
    """The request may have reached Jenkins (lost response, timeout): look before resending."""


@dataclass(frozen=True)
class Credentials:
    user: str
    token: str

    def __repr__(self) -> str:  # never print the token, even in a debugger or a traceback
        return f"Credentials(user={self.user!r}, token=*****)"


def _scrub(text: str) -> str:
    text = re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@", r"\1", text)  # URL credentials
    text = re.sub(r"(?i)(authorization:\s*basic\s+)\S+", r"\1*****", text)
    return redact(text)


def load_credentials(settings: Settings, environ: Mapping[str, str] | None = None) -> Credentials:
    env = os.environ if environ is None else environ
    cfg = settings.jenkins
    user, token = env.get(cfg.user_env), env.get(cfg.token_env)
    if user and token:
        register_secret(token, user=user)
        return Credentials(user, token)
    if cfg.credentials_file:
        credentials = _read_credentials_file(Path(cfg.credentials_file).expanduser())
        register_secret(credentials.token, user=credentials.user)
        return credentials
    raise Refusal(f"no Jenkins credentials: set {cfg.user_env} and {cfg.token_env}, or "
                  "jenkins.credentials_file in conveyor.toml")


def _read_credentials_file(path: Path) -> Credentials:
    try:
        info = path.stat()
    except OSError as exc:
        raise Refusal(f"{path}: cannot read the Jenkins credentials file "
                      f"({exc.strerror})") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Refusal(f"{path}: the Jenkins credentials file is readable by others "
                      f"(mode {stat.filemode(info.st_mode)}); run: chmod 600 {path}")
    if info.st_uid != os.getuid():
        raise Refusal(f"{path}: the Jenkins credentials file belongs to another user")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
        user, token = data.get("user"), data.get("token")
    except tomllib.TOMLDecodeError:
        user, _, token = text.strip().partition(":")
    if not isinstance(user, str) or not isinstance(token, str) or not user or not token:
        raise Refusal(f"{path}: expected TOML `user` and `token`, or one line `user:token`")
    return Credentials(user, token.strip())


def check_transport(url: str, allow_plain_http: bool) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refusal(f"jenkins.url must be http:// or https://, not {parts.scheme!r}")
    if parts.username or parts.password:
        raise Refusal("jenkins.url must not carry credentials; use jenkins.token_env")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS and not allow_plain_http:
        raise Refusal(f"refusing to send the Jenkins token over plain http to {parts.hostname}; "
                      "use https:// (or set jenkins.allow_plain_http)")


class HTTPStatusError(jenkins.JenkinsException):
    def __init__(self, status: int, reason: str, body: str) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status, self.reason, self.body = status, reason, body


class HTTPNotFound(HTTPStatusError, jenkins.NotFoundException):
    pass


class _Jenkins(jenkins.Jenkins):
    """python-jenkins with preemptive Basic auth only, crumbs on demand, status-carrying errors."""

    def __init__(self, url: str, credentials: Credentials, timeout: float) -> None:
        super().__init__(url, username=credentials.user, password=credentials.token,
                         timeout=timeout)
        self._auths: list[Any] = self._auths[:1]  # Basic only: no Kerberos probing
        self.crumb_wanted = False

    def maybe_add_crumb(self, req: requests.Request) -> None:
        if self.crumb_wanted:
            super().maybe_add_crumb(req)

    def _request(self, req: requests.Request, stream: bool | None = None) -> requests.Response:
        """As python-jenkins, but a POST never follows a redirect: Jenkins answers a coalesced
        trigger with 303 to the queued item (ParametersDefinitionProperty.buildWithParameters),
        and requests would turn a redirected POST into a GET that "succeeds"."""
        prepared = self._session.prepare_request(req)
        settings = self._session.merge_environment_settings(
            prepared.url, {}, stream, self._session.verify, None)
        settings["timeout"] = self.timeout
        settings["allow_redirects"] = req.method == "GET"
        response: requests.Response = self._session.send(prepared, **settings)
        return response

    def _response_handler(self, response: requests.Response) -> requests.Response:
        if response.status_code >= 400:
            kind = HTTPNotFound if response.status_code == 404 else HTTPStatusError
            raise kind(response.status_code, response.reason or "", response.text[:500])
        return response


class Client:
    """The calls Conveyor makes, each with a timeout and one error family."""

    def __init__(self, settings: Settings, credentials: Credentials | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        cfg = settings.jenkins
        check_transport(cfg.url, cfg.allow_plain_http)
        self.url = cfg.url.rstrip("/") + "/"
        self.server = _Jenkins(self.url, credentials or load_credentials(settings), timeout)

    # ---------------------------------------------------------------- low level

    def call(self, what: str, fn: Callable[[], T], *, changes_state: bool = False) -> T:
        """Run one python-jenkins call; refresh the crumb once on `403 No valid crumb`."""
        for attempt in (1, 2):
            try:
                return fn()
            except HTTPStatusError as exc:
                if exc.status == 403 and NO_CRUMB in exc.body and attempt == 1:
                    log.debug("jenkins: %s needs a crumb; fetching one", what)
                    self.server.crumb_wanted, self.server.crumb = True, None
                    continue
                raise self._classify(what, exc, changes_state) from None
            except (jenkins.JenkinsException, requests.RequestException, OSError) as exc:
                raise self._classify(what, exc, changes_state) from None
        raise AssertionError("unreachable")

    def _classify(self, what: str, exc: Exception, changes_state: bool) -> ConveyorError:
        if isinstance(exc, HTTPStatusError):
            detail = f"{what}: Jenkins answered {exc.status} {exc.reason}"
            if exc.status == 404:
                return NotFound(_scrub(detail))
            if exc.status in (401, 403):
                hint = " (check the user and API token)" if exc.status == 401 else ""
                first_line = exc.body.strip().splitlines()[0][:200] if exc.body.strip() else ""
                return Refusal(_scrub(f"{detail}{hint}{': ' + first_line if first_line else ''}"))
            if exc.status >= 500:
                kind = Unclear if changes_state else Retryable
                return kind(_scrub(detail))
            return Refusal(_scrub(detail))
        kind = Unclear if changes_state else Retryable
        if isinstance(exc, (requests.Timeout, jenkins.TimeoutException)):
            return kind(_scrub(f"{what}: Jenkins did not answer in time"))
        name = type(exc).__name__
        return kind(_scrub(f"{what}: cannot reach Jenkins at {self.url} ({name}: {exc})"))

    def get_json(self, path: str, what: str) -> Any:
        url = self.url + path
        text = self.call(what, lambda: self.server.jenkins_open(requests.Request("GET", url)))
        try:
            return json.loads(text)
        except ValueError:
            raise Retryable(f"{what}: Jenkins answered something that is not JSON") from None

    def post(self, path: str, what: str, data: Any = None,
             headers: Mapping[str, str] | None = None,
             redirects: tuple[int, ...] = ()) -> requests.Response:
        """POST without following redirects; a redirect not in `redirects` is a Refusal
        (e.g. http:// answered with a move to https://: fix jenkins.url)."""
        url = self.url + path
        response: requests.Response = self.call(
            what, lambda: self.server.jenkins_request(
                requests.Request("POST", url, data=data, headers=dict(headers or {}))),
            changes_state=True)
        if 300 <= response.status_code < 400 and response.status_code not in redirects:
            location = _scrub(response.headers.get("Location", "?"))
            raise Refusal(f"{what}: Jenkins redirected the request ({response.status_code}) to "
                          f"{location}; check jenkins.url")
        return response

    # ---------------------------------------------------------------- items

    def config(self, kind: str, name: str) -> str | None:
        """config.xml of a job/folder (kind "job") or view (kind "view"); None when missing."""
        try:
            text: str = self.call(f"read {kind} {name}", lambda: self.server.jenkins_open(
                requests.Request("GET", self.url + item_path(kind, name) + "config.xml")))
        except NotFound:
            return None
        return text

    def create(self, kind: str, name: str, xml: str) -> None:
        folder, _, short = name.rpartition("/")
        endpoint = "createItem" if kind == "job" else "createView"
        query = urllib.parse.urlencode({"name": short})
        self.post(f"{job_path(folder) if folder else ''}{endpoint}?{query}",
                  f"create {kind} {name}", xml.encode("utf-8"), jenkins.DEFAULT_HEADERS)

    def update(self, kind: str, name: str, xml: str) -> None:
        """POST config.xml: Jenkins replaces the whole item with it (updateByXml)."""
        self.post(item_path(kind, name) + "config.xml", f"update {kind} {name}",
                  xml.encode("utf-8"), jenkins.DEFAULT_HEADERS)

    def delete(self, kind: str, name: str) -> None:
        self.post(item_path(kind, name) + "doDelete", f"delete {kind} {name}",
                  redirects=(302, 303))  # Jenkins redirects to the parent when done


def item_path(kind: str, name: str) -> str:
    """URL path of a job/folder ('a/b' -> 'job/a/job/b/') or of a view in a folder
    ('a/v' -> 'job/a/view/v/')."""
    if kind == "job":
        return job_path(name)
    folder, _, view = name.rpartition("/")
    return f"{job_path(folder) if folder else ''}view/{urllib.parse.quote(view, safe='')}/"


def job_path(full_name: str) -> str:
    """URL path of a job (folders included): 'a/b' -> 'job/a/job/b/'."""
    return "".join(f"job/{urllib.parse.quote(part, safe='')}/" for part in full_name.split("/"))
