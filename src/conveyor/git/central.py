"""The central repository, seen through private clones under the state directory.

Promotions never touch the user's working tree: each purpose (one environment's promotions,
or reading for status) has its own clone, reset to the central branch before use.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from conveyor import state
from conveyor.errors import ConfigError, Refusal, Retryable, UsageError
from conveyor.git import plumbing as git

REJECTED = re.compile(r"non-fast-forward|fetch first|\[rejected\]|failed to update ref|"
                      r"cannot lock ref|stale info")


def default_url(repo_root: str | os.PathLike[str]) -> str:
    """The `origin` remote of the monorepo checkout."""
    result = git.run(repo_root, "remote", "get-url", "origin", check=False)
    url = result.text().strip()
    if not result.ok or not url:
        raise UsageError(f"{repo_root} has no origin remote: pass --central PATH_OR_URL")
    if "://" not in url and not os.path.isabs(url) and ":" not in url:
        url = os.path.normpath(os.path.join(os.fspath(repo_root), url))
    return url


def clone_dir(url: str, purpose: str) -> Path:
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return state.subdir("central", key) / purpose


def sync(url: str, branch: str, purpose: str) -> Path:
    """A private clone of `url` whose work tree is exactly `branch` on the central repo."""
    path = clone_dir(url, purpose)
    if not (path / ".git").is_dir():
        if path.exists():
            raise Refusal(f"{path} exists but is not a clone; remove it")
        result = git.run(path.parent, "clone", "--quiet", "--no-checkout", "--", url,
                         path.name, check=False, timeout=300)
        if not result.ok:
            raise Retryable(f"cannot clone the central repository {url}: "
                            f"{result.stderr.decode('utf-8', 'replace').strip()}")
    sync_existing(path, branch)
    return path


def sync_existing(path: Path, branch: str) -> None:
    """Fetch and make the clone's work tree exactly the central branch (our clone: no merge)."""
    fetch(path, branch)
    git.run(path, "checkout", "--quiet", "--force", "-B", branch, f"origin/{branch}")
    git.run(path, "reset", "--quiet", "--hard", f"origin/{branch}")
    git.run(path, "clean", "--quiet", "-fdx")


def fetch(path: Path, branch: str) -> None:
    result = git.run(path, "fetch", "--quiet", "origin",
                     f"+refs/heads/{branch}:refs/remotes/origin/{branch}", check=False,
                     timeout=300)
    if not result.ok:
        raise Retryable(f"cannot fetch {branch} from the central repository: "
                        f"{result.stderr.decode('utf-8', 'replace').strip()}")


def identity_env(identity: str) -> dict[str, str]:
    match = re.fullmatch(r"\s*(.+?)\s*<([^<>]+)>\s*", identity)
    if not match:
        raise ConfigError(f"policy.promotion_identity {identity!r} is not 'Name <email>'")
    name, email = match.groups()
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


def commit(path: Path, paths: list[str], message: str, identity: str) -> str:
    git.run(path, "add", "--", *paths)
    git.run(path, "commit", "--quiet", "--no-verify", "-m", message, "--", *paths,
            env=identity_env(identity))
    return git.output(path, "rev-parse", "HEAD")


def push(path: Path, branch: str) -> bool:
    """Push HEAD to the central branch; False when rejected as not a fast-forward."""
    result = git.run(path, "push", "--quiet", "--porcelain", "origin",
                     f"HEAD:refs/heads/{branch}", check=False, timeout=300)
    if result.ok:
        return True
    text = (result.stdout + result.stderr).decode("utf-8", "replace")
    if "remote rejected" in text or "pre-receive hook declined" in text:
        raise Refusal(f"the central repository refused the promotion commit: "
                      f"{text.strip().splitlines()[-1] if text.strip() else ''}")
    if REJECTED.search(text):
        return False
    raise Retryable(f"push to the central repository failed: {text.strip()}")


def head(path: Path) -> str:
    return git.output(path, "rev-parse", "HEAD")
