"""Who is acting: an identity the actor cannot simply declare, and what it may do.

Sources, by where Conveyor runs:
- a terminal or a script: the operating-system account running this process (`pwd` of the
  real uid, its groups from the group database), never an environment variable;
- a Jenkins stage: the user Jenkins authenticated (the input step's `submitter`), handed over
  by the Jenkins code path through `from_jenkins`; Jenkins, not the caller, sets it;
- the hooks on the central repository: the pusher the git server authenticated, read by
  pre-receive (`intake.push_policy`) from the variable `policy.pusher_variable` names.

`approvers` (per environment) and `overriders` are lists of user names and group names
(`@group` or a bare name that matches a group); `may_approve` / `may_override` check them.
"""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Iterable
from dataclasses import dataclass, field

from conveyor.config.model import Environment
from conveyor.errors import Refusal


@dataclass(frozen=True)
class Actor:
    name: str
    source: str  # os | jenkins | system
    groups: frozenset[str] = field(default_factory=frozenset)

    def __str__(self) -> str:
        return self.name if self.source in ("os", "system") else f"{self.name} ({self.source})"


def current() -> Actor:
    """The operating-system account running this process (the real uid, not $USER)."""
    entry = pwd.getpwuid(os.getuid())
    return Actor(entry.pw_name, "os", _groups(entry.pw_name, entry.pw_gid))


def from_jenkins(user_id: str) -> Actor:
    """The Jenkins-authenticated user (e.g. an input step's submitter), for Jenkins stages."""
    if not user_id or not user_id.strip():
        raise Refusal("Jenkins gave no authenticated user for this approval")
    return Actor(user_id.strip(), "jenkins")


def system(name: str) -> Actor:
    """Conveyor itself (automatic promotion): never an approver, never an overrider."""
    return Actor(name, "system")


def _groups(user: str, gid: int) -> frozenset[str]:
    names = set()
    for group_id in os.getgrouplist(user, gid):
        try:
            names.add(grp.getgrgid(group_id).gr_name)
        except KeyError:
            continue
    return frozenset(names)


def matches(actor: Actor, allowed: Iterable[str]) -> bool:
    if actor.source == "system":
        return False
    for entry in allowed:
        if entry.startswith("@"):
            if entry[1:] in actor.groups:
                return True
        elif entry == actor.name or entry in actor.groups:
            return True
    return False


def may_approve(actor: Actor, env: Environment, extra: Iterable[str] = ()) -> bool:
    return matches(actor, (*env.approvers, *extra))


def may_override(actor: Actor, env: Environment, extra: Iterable[str] = ()) -> bool:
    """`overriders` of the environment; none configured: its approvers."""
    return matches(actor, (*(env.overriders or env.approvers), *extra))
