"""`conveyor stage build|unit|integration|performance|promote`: one stage per call (the
Jenkinsfile's stages).

Inputs come from arguments or from the environment Jenkins sets: SERVICE, REVISION, REF,
CONTENT_KEY, TRIGGER_ID, BUILD_NUMBER, BUILD_URL, GIT_URL. Under the Jenkinsfile
(CONVEYOR_EXECUTOR=jenkins) each stage is recorded under the trigger's run
(`jenkins.builds.run_id`), so status and the dashboard show it with a link to the build.

`conveyor stage promote --env ENV` is the Jenkinsfile's promotion: into an automatic
environment it asks the same rule as the local executor's automatic promotion
(promotion.eligibility, with the branch, the environment's `automatic` flag and freezes);
into an approval environment it promotes with the approver Jenkins' `input` recorded on the
build (read back from Jenkins with Conveyor's credentials, never from $APPROVER), unless
the digest was superseded (the previous environment now runs another one). When the rule
says no it prints "skipped: why" and exits 0, so Groovy decides nothing.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from conveyor.commands._common import add_json_option, add_repo_option, print_json, repo_root
from conveyor.config import loader
from conveyor.config import model as config
from conveyor.config.stages import STAGES
from conveyor.errors import ConveyorError, Refusal, UsageError
from conveyor.git import central as central_repo
from conveyor.git import plumbing as git
from conveyor.jenkins import builds as jenkins_builds
from conveyor.pipeline import run as pipeline_run
from conveyor.pipeline import runner as stage_runner
from conveyor.pipeline.context import StageContext
from conveyor.promotion import automatic, eligibility, identity, overlays
from conveyor.promotion.promote import gather, promote
from conveyor.util.locks import named_lock

PROMOTE = "promote"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("stage", help="run one pipeline stage for a service and revision")
    parser.add_argument("stage", choices=(*STAGES, PROMOTE))
    parser.add_argument("--env", help="promote: the environment to promote into")
    parser.add_argument("--digest", help="promote: the digest (default: reports/<service>/"
                        "digest, written by the build stage)")
    parser.add_argument("--service", help="the service (default: $SERVICE)")
    parser.add_argument("--revision", help="the commit (default: $REVISION, else HEAD)")
    parser.add_argument("--reports", type=Path,
                        help="where reports go (default: reports/<service>/ in the workspace)")
    add_repo_option(parser)
    add_json_option(parser)
    parser.set_defaults(func=run)


def _under_jenkins() -> str | None:
    """The trigger id when this runs as a stage of the Jenkinsfile."""
    if os.environ.get("CONVEYOR_EXECUTOR") == "jenkins":
        return os.environ.get("TRIGGER_ID") or None
    return None


def run(args: argparse.Namespace) -> int:
    service = args.service or os.environ.get("SERVICE")
    if not service:
        raise UsageError("which service? pass --service or set SERVICE")
    root = repo_root(args)
    wanted = args.revision or os.environ.get("REVISION") or "HEAD"
    revision = git.rev_parse(root, wanted)
    if revision is None:
        raise Refusal(f"{root}: no commit {wanted}")
    reports = args.reports or root / "reports" / service
    loaded = loader.load_commit(root, revision)
    trigger_id = os.environ.get("TRIGGER_ID")
    jenkins_trigger = _under_jenkins()
    started = time.time()
    if args.stage == PROMOTE:
        if not args.env:
            raise UsageError("conveyor stage promote needs --env ENV")
        digest = args.digest or _digest_from(reports)
        passed, digest_seen = _promote_stage(loaded, root, service, args.env, digest), digest
        name = f"{PROMOTE} {args.env}"
    else:
        if jenkins_trigger:  # the run the dispatcher recorded for this trigger
            run_id: str | None = jenkins_builds.run_id(jenkins_trigger)
        else:  # a build started by hand in Jenkins has its tag; a local call its trigger
            run_id = os.environ.get("BUILD_TAG") or (
                pipeline_run.run_id_for(trigger_id) if trigger_id else None)
        ctx = StageContext(
            config=loaded, repo=root, workspace=root, service=service, revision=revision,
            reports=reports, ref=os.environ.get("REF", ""), run_id=run_id,
            executor_url=os.environ.get("BUILD_URL"), source=os.environ.get("GIT_URL"))
        expected = os.environ.get("CONTENT_KEY")
        if expected and args.stage == "build" and expected != ctx.content_key():
            print(f"note: CONTENT_KEY {expected} differs from the key of {revision[:12]} "
                  f"({ctx.content_key()}); building by the revision's key")
        result = stage_runner.run(ctx, args.stage)
        passed, digest_seen, name = result.passed, result.digest, args.stage
    if jenkins_trigger:
        jenkins_builds.record_stage(
            trigger_id=jenkins_trigger, service=service, revision=revision,
            ref=os.environ.get("REF", ""), stage=name, passed=passed, started=started,
            build_url=os.environ.get("BUILD_URL"), digest=digest_seen)
    if args.json:
        print_json({"service": service, "revision": revision, "stage": name, "passed": passed,
                    "digest": digest_seen})
    return 0 if passed else 1


def _digest_from(reports: Path) -> str:
    path = reports / "digest"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        raise ConveyorError(f"{path}: no digest; the build stage writes it (or pass "
                            "--digest)") from None


def _central_url(root: Path) -> str:
    """The central repository: the URL Jenkins cloned the workspace from."""
    url = os.environ.get("GIT_URL")
    if url:
        return url
    result = git.run(root, "remote", "get-url", "origin", check=False)
    if not result.ok:
        raise ConveyorError(f"{root}: no GIT_URL and no origin remote: which central "
                            "repository?")
    return result.text().strip()


def _skipped(why: str) -> bool:
    print(f"skipped: {why}")
    return True


def _promote_stage(loaded: config.Config, root: Path, service: str, environment: str,
                   digest: str) -> bool:
    """One promotion of the Jenkinsfile; True when promoted or skipped by the rule."""
    env = loaded.settings.environment(environment)
    pipeline = loaded.pipeline(service)
    ref = os.environ.get("REF", "")
    central = _central_url(root)
    if env.automatic:
        automatic.promote_into(loaded, service, env.name, digest, ref=ref, central_url=central)
        return True  # promoted, or skipped by the rule
    approver = _jenkins_approver(loaded, service) if env.approval else None
    previous = loaded.settings.previous_environment(env.name)
    if previous is not None:
        with named_lock("central-read", wait=True):
            checkout = central_repo.sync(central, loaded.settings.default_branch, "read")
            there = overlays.pinned(checkout, previous.name, pipeline)
        if there != digest:
            return _skipped(f"superseded: {previous.name} now runs {there or 'nothing'}, not "
                            f"{digest}; promote what {previous.name} runs")
    request = gather(loaded, pipeline, env, digest,
                     approver=approver.name if approver else None)
    decision = eligibility.is_promotable(request)
    if not decision.allowed:
        return _skipped(decision.explain(request))
    promote(loaded, service, env.name, central_url=central, digest=digest,
            actor=approver or identity.system(automatic.ACTOR), approver=approver, wait=True)
    return True


def _jenkins_approver(loaded: config.Config, service: str) -> identity.Actor:
    """The user who approved this build, as Jenkins recorded it (not $APPROVER)."""
    number, trigger_id = os.environ.get("BUILD_NUMBER", ""), os.environ.get("TRIGGER_ID", "")
    if not number.isdigit() or not trigger_id:
        raise Refusal("an approval is read from the Jenkins build that asked for it: "
                      "BUILD_NUMBER and TRIGGER_ID are not set (run this stage under Jenkins)")
    return identity.from_jenkins(jenkins_builds.approver_of(loaded.settings, service,
                                                            int(number), trigger_id))
