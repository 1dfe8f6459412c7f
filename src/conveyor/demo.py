"""The embedded demo: this monorepo, pushed to a local central repository, to production.

Everything lives under the state directory (`demo/central.git`, `demo/work`), so running it
twice is safe (the second run only pushes what changed) and `clean` removes all of it.
The flow is the real one: `git push` → hook → dispatcher → local executor → stages →
automatic promotion to test and staging; production is approved explicitly here, as a
release manager would with `conveyor promote --approve`.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from conveyor import state
from conveyor.config import loader
from conveyor.config import model as config
from conveyor.errors import ConveyorError
from conveyor.git import plumbing as git
from conveyor.images import base as base_image
from conveyor.images import containers, registry_server
from conveyor.intake import install as hook_install
from conveyor.intake import outbox as spool
from conveyor.promotion import converge, deploy, identity, status
from conveyor.promotion import promote as promotion
from conveyor.records import ledger, runs
from conveyor.util import proc
from conveyor.util.progress import Progress
from conveyor.util.wait import Timeout, wait_until

PIPELINE_TIMEOUT = 2400.0
DASHBOARD_PORT = 8765
CHANGED_FILE = "services/gateway/src/gateway/__init__.py"


@dataclass
class Push:
    revision: str
    services: list[str]
    pushed_at: float


@dataclass
class Result:
    central: Path
    pushes: list[Push] = field(default_factory=list)
    production: dict[str, str] = field(default_factory=dict)  # service -> digest
    built: list[dict[str, str]] = field(default_factory=list)  # per push: service -> digest
    second_push_seconds: float | None = None


def folder() -> Path:
    return state.subdir("demo")


def up(source: Path, progress: Progress = print, *, dashboard: bool = True) -> Result:
    """Run the whole flow; returns what happened (the demo test reads it)."""
    settings = loader.load_dir(source).settings
    if settings.registry.embedded:
        progress(f"registry: {registry_server.start(settings.registry.address).address}")
    progress(f"base image: {base_image.ensure(base_image.default_recipe_dir(source), progress)}")
    central, work = _central_repository(progress), _work_clone(source, progress)
    result = Result(central)
    if git.run(central, "rev-parse", "--verify", "-q", "refs/heads/main", check=False).ok:
        # a rerun: whatever happened to the containers meanwhile, run what the overlays pin
        progress("converging every environment to what the central repository pins")
        changes = converge.converge(loader.load_dir(work), str(central),
                                    actor=identity.current().name,
                                    progress=lambda line: progress(f"  {line}"))
        for change in changes:
            if change.action == "redeployed":
                progress(f"  {change.line()}")

    progress("push 1: the monorepo as it is committed")
    first = _push(work, central, progress)
    result.pushes.append(first)
    _drive_to_production(work, central, first, progress, result)

    progress(f"push 2: a one-line change to gateway ({CHANGED_FILE})")
    _change_gateway(work)
    second = _push(work, central, progress)
    result.pushes.append(second)
    if second.services != ["gateway"]:
        raise ConveyorError(f"push 2 should rebuild only gateway, it rebuilt {second.services}")
    _drive_to_production(work, central, second, progress, result)
    result.second_push_seconds = time.time() - second.pushed_at
    progress(f"push 2 → gateway healthy in production: {result.second_push_seconds:.0f} s")

    loaded = loader.load_dir(work)
    data = status.collect(loaded, str(central))
    progress(status.render_table(data))
    _say_what_stayed(data, progress)
    _call_production(loaded, progress)
    if dashboard:
        progress(f"dashboard: {_start_dashboard(work, central)}")
    return result


def clean(source: Path, progress: Progress = print) -> None:
    """Remove everything the demo made: containers, registry and its data, state, repositories."""
    _stop_dashboard()
    home = state.home()
    environments = [env.name for env in loader.load_dir(source).settings.environments]
    removed = [name for env in environments
               for name in containers.remove_labelled({"conveyor.env": env})]
    progress(f"removed {len(removed)} deployed container(s)")
    address = loader.load_dir(source).settings.registry.address
    if registry_server.stop(address):
        progress(f"stopped the registry on {address}")
    shutil.rmtree(home, ignore_errors=True)
    progress(f"removed {home}")


# ----------------------------------------------------------------- repositories


def _central_repository(progress: Progress) -> Path:
    central = folder() / "central.git"
    if not central.is_dir():
        git.run(folder(), "init", "--quiet", "--bare", "--initial-branch=main", str(central))
        progress(f"central repository: created {central}")
    for line in hook_install.install(central):
        progress(f"hook: {line}")
    return central


def _work_clone(source: Path, progress: Progress) -> Path:
    """A clone of the developer's committed HEAD whose origin is the central repository."""
    work = folder() / "work"
    if git.run(source, "status", "--porcelain", "--untracked-files=no").stdout.strip():
        progress("note: uncommitted changes in your checkout are not part of the demo")
    if not work.is_dir():
        git.run(folder(), "clone", "--quiet", "--no-hardlinks", str(source), str(work))
    else:
        git.run(work, "fetch", "--quiet", str(source), "HEAD")
        git.run(work, "merge", "--quiet", "--no-edit", "FETCH_HEAD", env=_identity())
    git.run(work, "checkout", "--quiet", "-B", "main")
    git.run(work, "remote", "remove", "origin", check=False)
    git.run(work, "remote", "add", "origin", str(folder() / "central.git"))
    return work


def _identity() -> dict[str, str]:
    who = f"{getpass.getuser()} (conveyor demo)"
    return {"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": "demo@conveyor.invalid",
            "GIT_COMMITTER_NAME": who, "GIT_COMMITTER_EMAIL": "demo@conveyor.invalid"}


def _change_gateway(work: Path) -> None:
    path = work / CHANGED_FILE
    text = path.read_text().rstrip("\n").split("\n")
    kept = [line for line in text if not line.startswith("DEMO_CHANGE = ")]
    path.write_text("\n".join([*kept, f"DEMO_CHANGE = {time.time_ns()}  # made by the demo"])
                    + "\n")
    git.run(work, "commit", "--quiet", "-am", "gateway: a one-line change (conveyor demo)",
            env=_identity())


def _push(work: Path, central: Path, progress: Progress) -> Push:
    """Pull what promotions committed, push, and show what the hook said."""
    git.run(work, "pull", "--quiet", "--rebase", "origin", "main", check=False, env=_identity())
    revision = git.output(work, "rev-parse", "HEAD")
    pushed_at = time.time()
    answer = git.run(work, "push", "origin", "HEAD:refs/heads/main", timeout=120)
    for line in answer.stderr.decode("utf-8", "replace").splitlines():
        if "conveyor" in line:
            progress(f"  {line.strip()}")
    services = _detected_services(central, revision)
    progress(f"  {revision[:12]}: {', '.join(services) or 'nothing to build'}")
    return Push(revision, services, pushed_at)


def _detected_services(central: Path, revision: str, timeout: float = 120.0) -> list[str]:
    """The services the hook (or the dispatcher, for a slow push) queued for `revision`."""
    with spool.Outbox(central) as outbox:
        wait_until(lambda: not any(item.update.new == revision for item in outbox.received()),
                   timeout, interval=0.5, what=f"change detection for {revision[:12]}")
        return sorted({row.trigger.service for row in outbox.rows()
                       if row.trigger.revision == revision})


# ----------------------------------------------------------------- pipelines & promotion


def _drive_to_production(work: Path, central: Path, push: Push, progress: Progress,
                         result: Result) -> None:
    loaded = loader.load_dir(work)
    digests = {service: _wait_for_pipeline(central, push.revision, service, progress)
               for service in loaded.in_dependency_order(push.services)}
    result.built.append(digests)
    automatic = [env.name for env in loaded.settings.environments if env.automatic]
    for service, digest in digests.items():
        for env_name in automatic:
            _wait_for_promotion(service, env_name, digest, progress)
    for env in loaded.settings.environments:
        if env.automatic:
            continue
        for service, digest in digests.items():
            me = identity.current()
            progress(f"{service} → {env.name}: approving explicitly as the local account "
                     f"{me.name!r}, which the demo adds to {env.name}'s approvers for itself "
                     f"(conveyor.toml names {', '.join(env.approvers) or 'nobody'}); in a team "
                     f"this is `conveyor promote {service} --env {env.name} --approve` by a "
                     "listed release manager, or the Jenkins input step")
            promotion.promote(loaded, service, env.name, central_url=str(central),
                              digest=digest, actor=me, approver=me, wait=True,
                              extra_approvers=(me.name,),
                              progress=lambda line: progress(f"  {line}"))
            result.production[service] = digest


def _wait_for_pipeline(central: Path, revision: str, service: str, progress: Progress) -> str:
    """Follow the local run of `service` at `revision` stage by stage; its digest when green."""
    shown: set[str] = set()

    def digest() -> str:
        run = runs.latest(service, revision)
        if run is None:
            _check_not_parked(central, revision, service)
            return ""
        for stage in runs.stages(run["run_id"]):
            if stage["stage"] not in shown:
                shown.add(stage["stage"])
                seconds = stage["finished_at"] - stage["started_at"]
                progress(f"  {service}: {stage['stage']} {stage['status']} ({seconds:.0f} s)")
        if run["status"] == "failed":
            raise ConveyorError(f"{service}: the pipeline failed; logs in {run['url']}")
        return str(run["digest"]) if run["status"] == "passed" and run["digest"] else ""

    return wait_until(digest, PIPELINE_TIMEOUT, interval=1,
                      what=f"{service}: a finished pipeline")


def _check_not_parked(central: Path, revision: str, service: str) -> None:
    with spool.Outbox(central) as outbox:
        for row in outbox.rows("failed"):
            if row.trigger.revision == revision and row.trigger.service == service:
                raise ConveyorError(f"{service}: the trigger was parked: {row.last_error}")


def _wait_for_promotion(service: str, env: str, digest: str, progress: Progress,
                        timeout: float = 600.0) -> None:
    def verified() -> bool:
        if ledger.is_verified(service, env, digest):
            return True
        newest = ledger.history(service, env)[:1]
        if newest and newest[0].digest == digest and newest[0].phase in ("failed",
                                                                          "rolled-back"):
            # fail fast: the row says it will not come
            why = f": {newest[0].failure}" if newest[0].failure else ""
            raise ConveyorError(f"{service}: automatic promotion to {env} {newest[0].phase}"
                                f"{why or _promotion_reason(service)}")
        return False

    wait_until(verified, timeout, interval=1, what=f"{service}: verified in {env}")
    progress(f"  {service} → {env}: promoted automatically, deployed and verified")


def _promotion_reason(service: str) -> str:
    """The line the run's log gives for a failed automatic promotion, if there is one."""
    run = runs.latest(service)
    if run is None or not run["url"]:
        return ""
    for log in sorted(Path(run["url"]).glob("*.log"), key=lambda p: p.stat().st_mtime,
                      reverse=True):
        lines = [line for line in log.read_text(errors="replace").splitlines()
                 if "not promoted to" in line or "automatic promotion" in line]
        if lines:
            return f": {lines[-1].strip()} (log: {log})"
    return f" (logs in {run['url']})"


def _say_what_stayed(data: dict[str, object], progress: Progress) -> None:
    services = data["services"]
    assert isinstance(services, dict)
    for name, service in services.items():
        pinned = {cell["pinned"] for cell in service["environments"].values()}
        if len(pinned) == 1 and None not in pinned:
            progress(f"{name}: the same digest {next(iter(pinned))[:19]} runs in every "
                     "environment")


def _call_production(loaded: config.Config, progress: Progress) -> None:
    """A real request through production's gateway to production's password-strength."""
    url = f"http://{deploy.address(loaded, 'production', 'gateway')}/v1/password-strength"
    for password in ("password123", "correct horse battery staple"):
        body = json.dumps({"password": password}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        progress(f"POST {url} {password!r}: score {answer['score']}, "
                 f"log10 guesses {answer['log10_guesses']:.1f}, "
                 f"cracked in {answer['crack_time']['display']}")


# ----------------------------------------------------------------- dashboard


def _dashboard_pid_file() -> Path:
    return folder() / "dashboard.pid"


def _start_dashboard(work: Path, central: Path) -> str:
    _stop_dashboard()
    address = f"127.0.0.1:{DASHBOARD_PORT}"
    if not containers.port_is_free(DASHBOARD_PORT):
        return (f"not started: {address} is held by another process (another instance's "
                "dashboard?); run `conveyor dashboard --port N` on a free port")
    pid = proc.start_detached(
        [sys.executable, "-m", "conveyor", "dashboard", "--port", str(DASHBOARD_PORT),
         "--central", str(central), "--repo", str(work)], folder() / "dashboard.log",
        env={**os.environ, "CONVEYOR_HOME": str(state.home())})
    _dashboard_pid_file().write_text(f"{pid}\n")

    def outcome() -> str:
        if proc.has_exited(pid):
            return "exited"
        try:
            healthy = containers.is_healthy(address, "/healthz")
        except OSError:
            return ""
        # healthy *and* our child still alive: never another process's answer
        return "up" if healthy and not proc.has_exited(pid) else ""

    try:
        if wait_until(outcome, 30, interval=0.3, what="the dashboard") == "up":
            return f"http://{address}/ (pid {pid}; `conveyor demo --clean` stops it)"
    except Timeout:
        pass
    return f"not started, see {folder() / 'dashboard.log'}"


def _stop_dashboard() -> None:
    pid_file = _dashboard_pid_file() if (state.home() / "demo").is_dir() else None
    if pid_file is None or not pid_file.is_file():
        return
    try:
        pid = int(pid_file.read_text().strip())
        os.killpg(pid, signal.SIGTERM)
    except (ValueError, ProcessLookupError, PermissionError):
        pass
    pid_file.unlink(missing_ok=True)

