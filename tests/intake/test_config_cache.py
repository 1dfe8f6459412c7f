"""Detection's configuration cache: same answers as parsing, links re-checked, invalidated."""

from __future__ import annotations

import marshal
import os
import random
import re
from pathlib import Path

import pytest

from conveyor.config import loader, plan_cache, snapshot, sources
from conveyor.config import model as config
from conveyor.git.plumbing import ZERO_OID
from conveyor.intake import push_policy
from conveyor.intake.changes import Affected, Detection, Detector, RefUpdate

from .conftest import Monorepo, git

MAIN = b"refs/heads/main"


def cache_files(bare: Path) -> list[Path]:
    folder = bare / "conveyor" / "config-cache"
    return sorted(folder.glob("*.marshal")) if folder.is_dir() else []


def test_a_push_caches_the_configuration_and_a_cached_plan_detects_the_same(
        central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    [cached] = cache_files(central.bare)
    old = central.head()
    new = central.commit({"protos/api.proto": "v2\n", "services/gateway/app.py": "v2\n"})
    git(central.work, "push", "-q", f"file://{central.bare}", "main:refs/heads/side",
        env={"CONVEYOR_TEST_CRASH_AT": "before-spool-write"})  # objects in, no hook work
    update = RefUpdate(old, new, MAIN)
    with Detector(central.bare) as detector:
        from_cache = detector.detect(update)
    with Detector(central.bare) as detector:
        parsed = detector.detect(update, (), snapshot.load(central.bare, new))
    assert from_cache == parsed
    assert [a.service for a in from_cache.affected] == ["gateway", "password-strength"]
    assert cache_files(central.bare) == [cached]  # same conveyor.toml and pipelines/


def test_a_symlink_is_refused_even_when_the_configuration_is_cached(central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    assert cache_files(central.bare)
    old = central.head()
    git(central.work, "rm", "-q", "-r", "services/gateway")
    (central.work / "services" / "gateway").symlink_to("/etc")
    new = central.commit({}, "gateway becomes a link")  # conveyor.toml, pipelines/: unchanged
    git(central.work, "push", "-q", f"file://{central.bare}", "main:refs/heads/side",
        env={"CONVEYOR_TEST_CRASH_AT": "before-spool-write"})
    with Detector(central.bare) as detector, pytest.raises(
            config.ConfigError, match="pipelines/gateway.toml: service.paths: "
                                      "'services/gateway/' is a symbolic link"):
        detector.detect(RefUpdate(old, new, MAIN))


def test_a_stale_or_broken_cache_is_ignored(central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    [cached] = cache_files(central.bare)
    data = marshal.loads(cached.read_bytes())
    data["code"] = "older code"
    data["services"] = ()  # what an old version would have said
    cached.write_bytes(marshal.dumps(data))
    head = central.head()
    with Detector(central.bare) as detector:
        assert len(detector.detect(RefUpdate(ZERO_OID, head, MAIN)).affected) == 2
    assert marshal.loads(cached.read_bytes())["code"] == plan_cache.code_stamp()  # rewritten
    cached.write_bytes(b"\0garbage")
    with Detector(central.bare) as detector:
        assert len(detector.detect(RefUpdate(ZERO_OID, head, MAIN)).affected) == 2


def test_no_cache_files_in_a_work_tree(monorepo: Monorepo) -> None:
    with Detector(monorepo.work) as detector:
        detector.detect(RefUpdate(ZERO_OID, monorepo.head(), MAIN))
    assert not (monorepo.work / "conveyor").exists()
    assert plan_cache.cache_dir(monorepo.work) is None


def test_detection_records_are_immutable_values() -> None:
    update = RefUpdate("a" * 40, "b" * 40, MAIN)
    one = Detection(update, (Affected("gateway", "why", "k"),), 2, "note")
    two = Detection(RefUpdate("a" * 40, "b" * 40, MAIN), (Affected("gateway", "why", "k"),), 2,
                    "note")
    assert one == two and hash(one) == hash(two) and one != Affected("gateway", "why", "k")
    assert "services_total=2" in repr(one)
    with pytest.raises(AttributeError):
        one.note = "other"  # type: ignore[misc]


def test_the_default_ref_pattern_is_checked_exactly_as_the_regex() -> None:
    pattern = re.compile(push_policy.DEFAULT_REF_PATTERN.encode())

    class Empty(sources.Source):
        def read(self, path: str) -> bytes | None:
            return b"[project]\n" if path == "conveyor.toml" else None

    assert loader.load_settings(Empty()).policy.ref_pattern == push_policy.DEFAULT_REF_PATTERN
    rng = random.Random(7)
    refs = [b"refs/heads/main", b"refs/heads/", b"refs/tags/v1", b"refs/heads/x\n",
            b"refs/heads/\n", b"refs/notes/x", b"refs/heads/caf\xe9", b"refs/heads/a\x7f"]
    alphabet = [0, 9, 10, 31, 32, 65, 126, 127, 128, 255]
    refs += [rng.choice([b"refs/heads/", b"refs/tags/", b"refs/head"])
             + bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
             for _ in range(5000)]
    for ref in refs:
        allowed = push_policy.ref_allowed(push_policy.DEFAULT_REF_PATTERN, ref)
        assert allowed == bool(pattern.search(ref))
    assert push_policy.ref_allowed(r"^refs/heads/ok$", b"refs/heads/ok")
    assert not push_policy.ref_allowed(r"^refs/heads/ok$", b"refs/heads/no")


def test_code_stamp_follows_the_code() -> None:
    stamp = plan_cache.code_stamp()
    assert stamp == plan_cache.code_stamp() and len(stamp) == 64
    for name in plan_cache.STAMPED:
        assert os.path.isfile(os.path.join(plan_cache.PACKAGE, name)), name
