"""The command executor: runs `[executor] command` with the trigger's parameters in its env.

Exit 0 means accepted (the first line of stdout, if any, is the run id; a second line a URL),
75 (EX_TEMPFAIL) means try again later, anything else is a terminal refusal. The command is
never run through a shell; the ref reaches it as REF (text) and REF_B64 (exact bytes).

Idempotency by TRIGGER_ID: after an accepted run a marker file
`<repo>/conveyor/command-runs/<TRIGGER_ID>` records the run id, and a trigger whose marker
exists is answered from it without running the command again. That covers a dispatcher killed
between delivery and marking; a command that can itself be interrupted should also treat
TRIGGER_ID as its idempotency key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from conveyor import state
from conveyor.config.model import Settings
from conveyor.errors import ConfigError, ConveyorError, Refusal, Retryable
from conveyor.executors import Accepted, Trigger
from conveyor.util import atomic, proc

TIMEOUT_S = 600.0
EX_TEMPFAIL = 75


class CommandExecutor:
    name = "command"

    def __init__(self, settings: Settings, repository: str) -> None:
        if not settings.executor_command:
            raise ConfigError(f"{settings.file}: executor.command: required for kind = \"command\"")
        self.argv = settings.executor_command
        self.repository = repository
        local = Path(repository) / "conveyor"
        self.markers = (local if local.is_dir() else state.subdir("command")) / "command-runs"

    def environment(self, trigger: Trigger) -> dict[str, str]:
        env = dict(os.environ)
        env.update(trigger.parameters())
        env.update(REF_B64=trigger.ref_b64, REPOSITORY=self.repository, REASON=trigger.reason)
        return env

    def submit(self, trigger: Trigger) -> Accepted:
        marker = self.markers / trigger.trigger_id
        if marker.is_file():
            return _accepted(json.loads(marker.read_text()))
        try:
            result = proc.run(self.argv, timeout=TIMEOUT_S, env=self.environment(trigger),
                              check=False)
        except ConveyorError as exc:
            raise Retryable(str(exc)) from None
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        why = detail[-1] if detail else f"exit {result.returncode}"
        if result.returncode == EX_TEMPFAIL:
            raise Retryable(f"{self.argv[0]}: {why}")
        if not result.ok:
            raise Refusal(f"{self.argv[0]} exited {result.returncode}: {why}")
        lines = result.stdout.decode("utf-8", "replace").splitlines()
        record = {"run_id": lines[0].strip() if lines and lines[0].strip()
                  else trigger.trigger_id, "url": lines[1].strip() if len(lines) > 1 else None}
        _write_marker(marker, record)
        return _accepted(record)


def _accepted(record: dict[str, str | None]) -> Accepted:
    return Accepted(str(record["run_id"]), record.get("url"))


def _write_marker(marker: Path, record: dict[str, str | None]) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic.write_text(marker, json.dumps(record))
