"""A local pipeline run: the stages of `stages.STAGES`, in order, on one machine.

The workspace is exported from a committed revision; each stage writes a log file and the
terminal shows progress; runs and stages are recorded in the `runs` and `stage_runs` tables;
local runs on this machine are serialised by a lock (they queue). When every stage passes,
the caller's `after` step (the CLI passes automatic promotion) takes over.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from conveyor import state
from conveyor.config import loader
from conveyor.config import model as config_module
from conveyor.config.stages import STAGES
from conveyor.errors import ConveyorError, Refusal
from conveyor.git import plumbing as git
from conveyor.git import workspace
from conveyor.pipeline import queue as run_queue
from conveyor.pipeline import runner as stage_runner
from conveyor.pipeline.context import StageContext
from conveyor.records import db, runs
from conveyor.util.progress import Progress
from conveyor.util.redact import redact

log = logging.getLogger(__name__)
EXIT_CODES = {stage: 10 + index for index, stage in enumerate(STAGES)}  # build=10 … perf=13
PROMOTION_FAILED = 20
Out = Progress
# What runs after every stage passed (automatic promotion, given by the caller).
AfterPipeline = Callable[..., None]


def run_id_for(trigger_id: str) -> str:
    """The run of a trigger: the same trigger always names the same run."""
    return "local-" + re.sub(r"[^A-Za-z0-9_.-]", "_", trigger_id)[:48]


def run_folder(run_id: str) -> Path:
    return state.subdir("runs", run_id)


def queue(run_id: str, service: str, revision: str, *, ref: str = "", content_key: str = "",
          trigger_id: str = "") -> bool:
    """Record a queued run; False when that run id is already recorded (idempotent)."""
    return runs.queue_local(run_id, service, revision, url=str(run_folder(run_id)), ref=ref,
                            content_key=content_key, trigger_id=trigger_id)


def forget(run_id: str) -> None:
    """Drop a queued run that never started (its process could not be started)."""
    runs.forget_queued(run_id)


def run(repo: Path, service: str, revision: str | None = None, *, trigger_id: str | None = None,
        ref: str | None = None, out: Out = print, after: AfterPipeline | None = None) -> int:
    """Run the pipeline of `service`; 0 when every stage passed, else the failing stage's code."""
    commit = git.rev_parse(repo, revision or "HEAD")
    if commit is None:
        raise Refusal(f"{repo}: no commit {revision or 'HEAD'}")
    if ref is None:
        ref = _current_ref(repo) if revision is None else ""
    config = loader.load_commit(repo, commit)
    config.pipeline(service)
    run_id = run_id_for(trigger_id) if trigger_id else (
        f"local-{service}-{commit[:12]}-{time.strftime('%Y%m%d%H%M%S')}")
    queue(run_id, service, commit, ref=ref, trigger_id=trigger_id or "")
    recorded = runs.status(run_id)
    if recorded in runs.FINISHED:
        out(f"run {run_id} already finished: {recorded}")
        return 0 if recorded == "passed" else 1
    folder = run_folder(run_id)
    # Automatic promotion happens inside the turn, so a dependent service's run finds its
    # dependencies already promoted when it looks for them.
    with run_queue.turn(config, run_id,
                        on_wait=lambda: out(f"{run_id}: queued behind another local run")):
        runs.set_status(run_id, "running")
        status = "failed"
        try:
            code, digest = _stages(repo, config, service, commit, ref, run_id, folder, out)
            status = "passed" if code == 0 else "failed"
        finally:
            runs.set_status(run_id, status, finished=True)
        if code:
            return code
        out(f"{service}: all stages passed for {digest} (run {run_id}, logs in {folder})")
        assert digest
        return _after(after, config, service, digest, commit, ref, str(repo), out)


def _stages(repo: Path, config: config_module.Config, service: str, commit: str, ref: str,
            run_id: str, folder: Path, out: Out) -> tuple[int, str | None]:
    files = workspace.make(repo, commit, folder / "workspace")
    digest: str | None = None
    try:
        for stage in STAGES:
            log_path = folder / f"{stage}.log"
            with open(log_path, "w", encoding="utf-8") as log_file:
                progress = _tee(log_file, out)
                ctx = StageContext(config, repo, files, service, commit, folder / "reports",
                                   ref=ref, run_id=run_id, executor_url=str(folder),
                                   source=config.settings.jenkins.repository_url or str(repo),
                                   progress=progress)
                started = db.now()
                try:
                    result = stage_runner.run(ctx, stage)
                    passed, summary = result.passed, result.summary
                    digest = result.digest or digest
                except ConveyorError as exc:
                    passed, summary = False, f"{stage} could not run: {exc}"
                    progress(summary)
            runs.record_stage(run_id, stage, passed, started, str(log_path), digest)
            if not passed:
                out(f"{service}: FAILED at stage {stage} (exit {EXIT_CODES[stage]}): "
                    f"{summary}\n  log: {log_path}")
                return EXIT_CODES[stage], digest
        return 0, digest
    finally:
        workspace.remove(files)


def _tee(log_file: TextIO, out: Out) -> Out:
    """Progress to the stage's log file and to the terminal, secrets masked."""
    def progress(line: str) -> None:
        text = redact(line)
        log_file.write(text + "\n")
        log_file.flush()
        out(text)
    return progress


def _after(after: AfterPipeline | None, config: config_module.Config, service: str,
           digest: str, revision: str, ref: str, repository: str, out: Out) -> int:
    if after is None:
        return 0
    try:
        after(config, service=service, digest=digest, revision=revision, ref=ref,
              repository=repository)
    except ConveyorError as exc:
        out(f"{service}: the pipeline passed but automatic promotion failed: {exc}")
        return PROMOTION_FAILED
    return 0


def _current_ref(repo: Path) -> str:
    result = git.run(repo, "symbolic-ref", "-q", "HEAD", check=False)
    return result.text().strip() if result.ok else ""
