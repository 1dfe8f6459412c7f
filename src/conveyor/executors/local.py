"""The local executor (the embedded default): a detached `conveyor run` per trigger.

`submit` records the run (its id derived from the trigger id, so submitting the same trigger
again finds the same run) and starts `python -m conveyor run …` in a new session with its
output in the run's log, then returns at once. Runs queue on the machine-wide run lock.
"""

from __future__ import annotations

import os
import sys

from conveyor.config.model import Settings
from conveyor.errors import Retryable
from conveyor.executors import Accepted, Trigger
from conveyor.git import plumbing as git
from conveyor.pipeline import run as pipeline_run
from conveyor.util import proc


class LocalExecutor:
    name = "local"

    def __init__(self, settings: Settings, repository: str) -> None:
        self.settings = settings
        self.repository = repository

    def submit(self, trigger: Trigger) -> Accepted:
        run_id = pipeline_run.run_id_for(trigger.trigger_id)
        folder = pipeline_run.run_folder(run_id)
        if pipeline_run.queue(run_id, trigger.service, trigger.revision, ref=trigger.ref_text,
                              content_key=trigger.content_key, trigger_id=trigger.trigger_id):
            try:
                self._start(trigger, folder / "run.log")
            except OSError as exc:
                pipeline_run.forget(run_id)
                raise Retryable(f"could not start the local run {run_id}: {exc}") from None
        return Accepted(run_id, str(folder))

    def _start(self, trigger: Trigger, log_path: os.PathLike[str]) -> None:
        argv = [sys.executable, "-m", "conveyor", "run", trigger.service,
                "--revision", trigger.revision, "--repo", self.repository,
                "--trigger-id", trigger.trigger_id, "--ref", trigger.ref_text]
        proc.start_detached(argv, log_path, env=git.clean_env(),
                            cwd=os.path.dirname(log_path))
