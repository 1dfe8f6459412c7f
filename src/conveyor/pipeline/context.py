"""What one stage of one pipeline works on, and what it proved.

The Jenkinsfile (`conveyor stage …`) and the local executor (`conveyor run`) build the same
`StageContext`; the stages do not know which executor called them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.config.model import Config, Pipeline
from conveyor.errors import ConveyorError
from conveyor.images import builder as images
from conveyor.images import instance
from conveyor.util.progress import Progress


@dataclass(frozen=True)
class StageContext:
    config: Config
    repo: Path  # the git repository (bare or a checkout) the revision is read from
    workspace: Path  # the revision's files on disk: tests run from here
    service: str
    revision: str  # full commit id
    reports: Path  # JUnit XML, JSON reports, logs and charts of this service's stages
    ref: str = ""
    run_id: str | None = None
    executor_url: str | None = None  # BUILD_URL under Jenkins
    source: str | None = None  # the repository URL for the provenance label
    progress: Progress = print

    @property
    def pipeline(self) -> Pipeline:
        return self.config.pipeline(self.service)

    def content_key(self, service: str | None = None) -> str:
        return images.content_key(self.repo, self.revision, self.config, service or self.service)

    def image(self) -> images.Image:
        """The image the build stage made for this revision's content (must exist)."""
        key = self.content_key()
        found = images.find(self.config, self.service, key)
        if found is None:
            raise ConveyorError(f"{self.service}: no image for content key {key}; "
                                "run the build stage first")
        return found

    def session_labels(self, stage: str) -> dict[str, str]:
        """Labels on every container a stage starts, so cleanup can find them all (and only
        this instance's: the session names the instance too)."""
        return {"conveyor.stage": stage, "conveyor.session": f"{stage}-{instance.instance_id()}-"
                f"{os.getpid()}-{self.service}-{self.revision[:12]}", **instance.labels()}

    def report(self, name: str) -> Path:
        self.reports.mkdir(parents=True, exist_ok=True)
        return self.reports / name


@dataclass(frozen=True)
class StageResult:
    stage: str
    passed: bool
    digest: str | None
    summary: str  # one line: what passed or the figure that broke
    figures: Mapping[str, Any] = field(default_factory=dict)
    reports: tuple[str, ...] = ()

    @property
    def result(self) -> str:
        return "passed" if self.passed else "failed"
