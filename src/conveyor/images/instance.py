"""Which Conveyor instance this process is: a short id derived from its state directory.

Two instances (two `CONVEYOR_HOME`s) can share one Docker daemon. Every container an
instance starts carries `conveyor.instance=<id>` and a name with the id in it, and every
listing or removal filters on that label, so an instance never touches what another made.
"""

from __future__ import annotations

import hashlib

from conveyor import state

LABEL = "conveyor.instance"


def instance_id() -> str:
    """8 hex digits of the resolved state directory: stable for a home, distinct across them."""
    home = str(state.home().resolve())
    return hashlib.sha256(home.encode()).hexdigest()[:8]


def labels() -> dict[str, str]:
    return {LABEL: instance_id(), "conveyor.home": str(state.home().resolve())}
