"""`create(settings, repository)`: the configured executor, its module imported only when used."""

from __future__ import annotations

import importlib
from typing import Any

from conveyor.config.model import Settings
from conveyor.errors import ConfigError, ConveyorError
from conveyor.executors import Executor, Trigger

CLASSES = {
    "command": ("conveyor.executors.command", "CommandExecutor"),
    "local": ("conveyor.executors.local", "LocalExecutor"),
    "jenkins": ("conveyor.jenkins.executor", "JenkinsExecutor"),
}


def create(settings: Settings, repository: str) -> Executor:
    try:
        module_name, class_name = CLASSES[settings.executor]
    except KeyError:
        raise ConfigError(f"{settings.file}: executor.kind: unknown executor "
                            f"{settings.executor!r}") from None
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConveyorError(f"executor {settings.executor!r} is not available: {exc}") from None
    executor: Executor = cls(settings, repository)
    return executor


def describe_call(settings: Settings, trigger: Trigger) -> dict[str, Any]:
    """What the dispatcher would call for this trigger (for `conveyor plan`), offline."""
    if settings.executor == "jenkins":
        job = f"{settings.jenkins.folder}/{trigger.service}"
    elif settings.executor == "command":
        job = " ".join(settings.executor_command) or "(executor.command unset)"
    else:
        job = f"local:{trigger.service}"
    return {"executor": settings.executor, "job": job, "parameters": trigger.parameters()}
