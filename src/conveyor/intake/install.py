"""`conveyor hook install BARE`: the shims of hooks/ written into a bare repository.

Idempotent: a Conveyor shim is rewritten in place; any other hook already there is kept as
`<name>.local` and still runs (first) from the shim. The shim records the Python and the
CONVEYOR_HOME of the installing process. Installation also turns on push options
(receive.advertisePushOptions), creates the outbox and records the existing heads as a
baseline, so `conveyor reconcile` does not mistake history for lost pushes.
"""

from __future__ import annotations

import compileall
import os
import sys
from pathlib import Path

from conveyor import state
from conveyor.errors import ConveyorError, Refusal
from conveyor.git import plumbing as git
from conveyor.intake.changes import RefUpdate
from conveyor.intake.outbox import Outbox
from conveyor.util import atomic

HOOKS = ("pre-receive", "post-receive")
MARKER = b"conveyor-shim"
# Package data, so a wheel install carries it as an editable one does.
TEMPLATE = Path(__file__).resolve().parent / "shim.sh"


def quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def render(hook: str) -> str:
    if not TEMPLATE.is_file():
        raise ConveyorError(f"hook template missing: {TEMPLATE}")
    return (TEMPLATE.read_text()
            .replace("@PYTHON@", quote(sys.executable))
            .replace("@CONVEYOR_HOME@", quote(str(state.home())))
            .replace("@HOOK@", hook))


def heads(repo: Path) -> list[tuple[str, bytes]]:
    result = git.run(repo, "for-each-ref", "--format=%(objectname) %(refname)",
                     "refs/heads/", "refs/tags/")
    return [(line[:line.index(b" ")].decode(), line[line.index(b" ") + 1:])
            for line in result.stdout.split(b"\n") if line]


def install(repo: str | os.PathLike[str]) -> list[str]:
    """Install both shims; returns what was done, one line each."""
    bare = Path(repo).resolve()
    if git.run(bare, "rev-parse", "--is-bare-repository", check=False).text().strip() != "true":
        raise Refusal(f"{bare}: not a bare git repository")
    hooks_dir = Path(git.output(bare, "rev-parse", "--git-path", "hooks"))
    hooks_dir = hooks_dir if hooks_dir.is_absolute() else bare / hooks_dir
    hooks_dir.mkdir(exist_ok=True)
    done = []
    for hook in HOOKS:
        target = hooks_dir / hook
        if target.exists() and MARKER not in target.read_bytes():
            kept = hooks_dir / f"{hook}.local"
            if kept.exists():
                raise Refusal(f"{target} and {kept} both exist: merge them first")
            os.replace(target, kept)
            done.append(f"kept the existing {hook} as {kept.name}")
        atomic.write_text(target, render(hook), 0o755)
        done.append(f"installed {target}")
    git.run(bare, "config", "receive.advertisePushOptions", "true")
    # Byte-compile the package now: where PYTHONDONTWRITEBYTECODE is set, every push would
    # otherwise compile the hook's modules again (~40 ms).
    compileall.compile_dir(os.path.dirname(os.path.abspath(__file__)), quiet=1)
    with Outbox(bare) as outbox:
        fresh = [RefUpdate(git.ZERO_OID, oid, ref) for oid, ref in heads(bare)
                 if not outbox.is_known(ref, oid)]
        if fresh:
            outbox.receive(fresh, state="baseline")
    done.append(f"outbox {bare / 'conveyor' / 'outbox.sqlite'} ({len(fresh)} head(s) baselined)")
    return done
