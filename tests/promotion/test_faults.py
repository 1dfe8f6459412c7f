"""Faults during promotion: concurrency, a registry that is down, a push that is rejected,
rollback and freeze, drift."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.config import model as config
from conveyor.errors import Retryable
from conveyor.git import central
from conveyor.images import containers
from conveyor.promotion import automatic as autopromote
from conveyor.promotion import deploy, history, status
from conveyor.records import ledger

from .conftest import (
    PORT_BASES,
    SERVICE,
    Images,
    Monorepo,
    git,
    give_evidence,
    make_monorepo,
)
from .test_flow import answer, pinned, promote

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def cli_promote(monorepo: Monorepo, digest: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "conveyor", "promote", SERVICE, "--to", "test", "--digest",
         digest, "--repo", str(monorepo.root), "--central", str(monorepo.central)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_promotions_to_one_environment_are_serialised(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    give_evidence(images.good)
    give_evidence(images.good2)
    first, second = cli_promote(monorepo, images.good), cli_promote(monorepo, images.good2)
    results = [(p.returncode, err) for p in (first, second)
               for _out, err in [p.communicate(timeout=300)]]  # communicate closes the pipes

    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2])
    if codes == [0, 2]:
        assert any("promotion in progress" in err for _, err in results)
    final = pinned(monorepo, "test")
    assert final in (images.good, images.good2)
    assert deploy.running_digest(monorepo.config, monorepo.config.settings.environment("test"),
                                 monorepo.config.pipeline(SERVICE)) == final
    records = sorted(ledger.history(SERVICE, "test"), key=lambda r: r.id)
    for earlier, later in zip(records, records[1:], strict=False):
        assert earlier.finished_at is not None and earlier.finished_at <= later.started_at


def test_registry_down_mid_promotion_leaves_the_previous_state_serving(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    give_evidence(images.good)
    promote(monorepo, "test", images.good)
    head, records = git(monorepo.central, "rev-parse", "main"), ledger.history(SERVICE)
    dead = f"127.0.0.1:{containers.free_port()}"
    settings = dataclasses.replace(monorepo.config.settings, registry=dataclasses.replace(
        monorepo.config.settings.registry, address=dead))
    broken = config.Config(settings, monorepo.config.pipelines)
    never_pulled = "sha256:" + "d" * 64
    give_evidence(never_pulled)

    with pytest.raises(Retryable, match="cannot pull"):
        promotion_to(broken, monorepo, never_pulled)

    assert git(monorepo.central, "rev-parse", "main") == head
    # the failed attempt is a recorded, visible outcome; nothing else changed
    failed, *rest = ledger.history(SERVICE)
    assert rest == records
    assert (failed.digest, failed.phase, failed.commit_id) == (never_pulled, "failed", None)
    assert answer(monorepo, "test")["version"] == "v1"


def promotion_to(cfg: config.Config, monorepo: Monorepo, digest: str) -> None:
    from conveyor.promotion import promote as promotion

    promotion.promote(cfg, SERVICE, "test", central_url=str(monorepo.central), digest=digest,
                      actor="alice")


def test_a_rejected_push_is_retried_on_top_of_the_new_head(
        monorepo: Monorepo, images: Images, clean_containers: None,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    give_evidence(images.good)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(monorepo.central), str(other))
    real_push, calls = central.push, list[Path]()

    def push_after_someone_else(path: Path, branch: str) -> bool:
        if not calls:  # someone else pushes first: our push is not a fast-forward
            (other / "README").write_text("meanwhile\n")
            git(other, "add", "README")
            git(other, "-c", "user.name=Bob", "-c", "user.email=bob@example.invalid",
                "commit", "-qm", "meanwhile")
            git(other, "push", "-q", "origin", "main")
        calls.append(path)
        return real_push(path, branch)

    monkeypatch.setattr(central, "push", push_after_someone_else)
    promote(monorepo, "test", images.good)

    assert len(calls) == 2
    log = git(monorepo.central, "log", "--format=%s", "main").splitlines()
    assert log[0].startswith(f"promote {SERVICE} in test") and log[1] == "meanwhile"
    assert pinned(monorepo, "test") == images.good


def test_rollback_promotes_the_previous_good_digest_and_freezes(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    give_evidence(images.good)
    give_evidence(images.good2)
    promote(monorepo, "test", images.good)
    promote(monorepo, "test", images.good2)
    from conveyor.promotion import rollback

    rollback.rollback(monorepo.config, SERVICE, "test", central_url=str(monorepo.central),
                      actor="oncall")

    assert pinned(monorepo, "test") == images.good
    assert answer(monorepo, "test")["version"] == "v1"
    latest = ledger.history(SERVICE, "test")[0]
    assert (latest.digest, latest.rollback, latest.actor, latest.phase) == (
        images.good, True, "oncall", "verified")
    assert ledger.is_frozen(SERVICE, "test")

    autopromote.after_pipeline(monorepo.config, service=SERVICE, digest=images.good2,
                               revision="f" * 40, ref="refs/heads/main",
                               repository=str(monorepo.central))
    assert pinned(monorepo, "test") == images.good  # frozen: nothing automatic happened

    assert rollback.unfreeze(monorepo.config, SERVICE, "test")
    entries = history.collect(monorepo.config, str(monorepo.central), SERVICE, "test")
    assert [(e["digest"], e["rollback"]) for e in entries[:3]] == [
        (images.good, True), (images.good2, False), (images.good, False)]


def test_status_flags_drift_when_a_container_is_replaced_by_hand(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    give_evidence(images.good)
    promote(monorepo, "test", images.good)
    cell = status.collect(monorepo.config, str(monorepo.central))["services"][SERVICE]
    assert cell["environments"]["test"] == {
        "pinned": images.good, "running": images.good, "drift": False, "revision": "f" * 40,
        "promoted_at": cell["environments"]["test"]["promoted_at"], "promoted_by": "alice",
        "stages_passed": ["build", "integration", "performance", "unit", "verify:test"],
        "frozen": False, "last_failure": None}

    name = deploy.container_name("test", SERVICE)
    containers.start(f"{images.registry}/conveyor/{SERVICE}@{images.good2}", name,
                     deploy.port(monorepo.config, "test", SERVICE),
                     labels={"conveyor.service": SERVICE})

    data = status.collect(monorepo.config, str(monorepo.central))
    test_cell = data["services"][SERVICE]["environments"]["test"]
    assert (test_cell["pinned"], test_cell["running"], test_cell["drift"]) == (
        images.good, images.good2, True)
    assert data["environments"] == ["test", "staging", "production"]
    assert data["services"][SERVICE]["environments"]["staging"]["drift"] is False


@pytest.mark.parametrize("crash_at, finished", [("promote-before-push", False),
                                                ("promote-after-push", True)])
def test_resume_finishes_a_published_promotion_and_abandons_an_unpublished_one(
        monorepo: Monorepo, images: Images, clean_containers: None,
        crash_at: str, finished: bool) -> None:
    give_evidence(images.good)
    give_evidence(images.good2)
    promote(monorepo, "test", images.good)
    killed = subprocess.run(
        [sys.executable, "-m", "conveyor", "promote", SERVICE, "--to", "test", "--digest",
         images.good2, "--repo", str(monorepo.root), "--central", str(monorepo.central)],
        env={**os.environ, "CONVEYOR_TEST_CRASH_AT": crash_at},
        capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9
    assert ledger.unfinished(SERVICE, "test") is not None
    assert answer(monorepo, "test")["version"] == "v1"  # the old container still serves

    done = subprocess.run(
        [sys.executable, "-m", "conveyor", "promote", SERVICE, "--to", "test", "--resume",
         "--repo", str(monorepo.root), "--central", str(monorepo.central)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert ledger.unfinished(SERVICE, "test") is None
    expected = images.good2 if finished else images.good
    assert pinned(monorepo, "test") == expected
    env = monorepo.config.settings.environment("test")
    assert deploy.running_digest(monorepo.config, env, monorepo.config.pipeline(SERVICE)) == (
        expected)
    assert ledger.is_verified(SERVICE, "test", images.good2) == finished
    assert ledger.history(SERVICE, "test")[int(finished)].phase == "abandoned"
    # history labels the commit by its newest record: verified once resumed, not abandoned
    newest = history.collect(monorepo.config, str(monorepo.central), SERVICE, "test")[0]
    assert (newest["digest"], newest["phase"]) == (
        (images.good2, "verified") if finished else (images.good2, "abandoned"))


def promotion_in(repo: Monorepo, digest: str) -> None:
    from conveyor.promotion import promote as promotion

    promotion.promote(repo.config, SERVICE, "test", central_url=str(repo.central),
                      digest=digest, actor="alice")


def test_two_instances_run_side_by_side_and_clean_only_their_own(
        monorepo: Monorepo, images: Images, clean_containers: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12 #4: two CONVEYOR_HOMEs on one daemon; removal by label touches only one."""
    give_evidence(images.good)
    promote(monorepo, "test", images.good)
    first = deploy.container_name("test", SERVICE)
    home = os.environ["CONVEYOR_HOME"]

    other_home = tmp_path / "other-home"
    monkeypatch.setenv("CONVEYOR_HOME", str(other_home))
    shifted = {env: port + 300 for env, port in PORT_BASES.items()}
    other = make_monorepo(tmp_path / "other", images.registry, shifted)
    give_evidence(images.good2)
    try:
        promotion_in(other, images.good2)
        second = deploy.container_name("test", SERVICE)
        assert second != first
        assert containers.is_running(first) and containers.is_running(second)
        # the second instance may neither remove nor replace the first one's container
        with pytest.raises(Exception, match="belongs to"):
            containers.remove(first)
        same_ports = make_monorepo(tmp_path / "clash", images.registry, PORT_BASES)
        with pytest.raises(Exception, match="held by something"):
            promotion_in(same_ports, images.good2)
        removed = containers.remove_labelled({"conveyor.service": SERVICE})
        assert first not in removed and containers.is_running(first)
        assert not containers.is_running(second)
    finally:
        containers.remove_labelled({"conveyor.service": SERVICE})
        monkeypatch.setenv("CONVEYOR_HOME", home)  # so clean_containers removes `first`
