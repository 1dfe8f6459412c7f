"""Refusals leave everything byte-identical; overrides and approvals are recorded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conveyor import cli
from conveyor.images import base as base_image
from conveyor.images import containers, engine, instance
from conveyor.promotion import automatic, deploy, identity
from conveyor.records import ledger
from tests.support import records

from .conftest import ME, SERVICE, Images, Monorepo, build_and_push, git, give_evidence

REPO = Path(__file__).resolve().parents[2]
BOGUS = "sha256:" + "c" * 64
pytestmark = pytest.mark.docker


def snapshot(monorepo: Monorepo) -> tuple[object, ...]:
    """Git (central refs and the overlays), the checkout, the ledger and running containers."""
    overlays = git(monorepo.central, "ls-tree", "-r", "main", "--", "k8s/overlays")
    running = sorted((c.name, c.id) for c in engine.client().containers.list(  # this instance's
        all=True, filters={"label": [f"conveyor.service={SERVICE}",
                                     f"{instance.LABEL}={instance.instance_id()}"]}))
    rows = [tuple(r) for r in records.rows("SELECT * FROM promotions")]
    return (git(monorepo.central, "for-each-ref"), overlays, git(monorepo.root, "status", "-z"),
            git(monorepo.root, "rev-parse", "HEAD"), rows, running)


def conveyor(monorepo: Monorepo, *args: str) -> int:
    return cli.main([*args, "--repo", str(monorepo.root), "--central", str(monorepo.central)])


@pytest.mark.parametrize("evidence", ["none", "integration-failed", "performance-missing"])
def test_a_digest_without_passing_evidence_is_refused_and_nothing_changes(
        monorepo: Monorepo, images: Images, evidence: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    if evidence == "integration-failed":
        give_evidence(images.good, failing=("integration",))
    elif evidence == "performance-missing":
        give_evidence(images.good, missing=("performance",))
    before = snapshot(monorepo)

    assert conveyor(monorepo, "promote", SERVICE, "--to", "test", "--digest", images.good) == 2

    assert snapshot(monorepo) == before
    error = capsys.readouterr().err
    stage = {"none": "build", "integration-failed": "integration",
             "performance-missing": "performance"}[evidence]
    assert f"evidence: stage {stage} has not passed" in error


@pytest.mark.parametrize("argv", [
    ["promote", SERVICE, "--to", "test", "--digest", f"{SERVICE}:latest"],
    ["promote", SERVICE, "--to", "test", "--digest", "sha256:abc"],
    ["promote", SERVICE, "--to", "test", "--digest", "sha256:" + "A" * 64],
    ["promote", SERVICE, "--to", "test", "--digest", "sha512:" + "a" * 128],
    ["promote", "../hello", "--to", "test", "--digest", BOGUS],
    ["promote", "nosuch", "--to", "test", "--digest", BOGUS],
    ["promote", SERVICE, "--to", "qa", "--digest", BOGUS],
    ["promote", SERVICE, "--to", "staging", "--digest", BOGUS, "--override"],
    ["rollback", SERVICE, "--env", "test", "--to", "latest"],
])
def test_malformed_input_is_refused(monorepo: Monorepo, argv: list[str],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(monorepo)
    assert conveyor(monorepo, *argv) != 0
    assert capsys.readouterr().err.startswith("conveyor: ")
    assert snapshot(monorepo) == before


def test_skipping_an_environment_is_refused_and_an_override_is_recorded(
        monorepo: Monorepo, images: Images, clean_containers: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    give_evidence(images.good)
    before = snapshot(monorepo)
    assert conveyor(monorepo, "promote", SERVICE, "--to", "staging", "--digest",
                    images.good) == 2
    assert "not verified in test" in capsys.readouterr().err
    assert snapshot(monorepo) == before

    assert conveyor(monorepo, "promote", SERVICE, "--to", "staging", "--digest", images.good,
                    "--override", "--reason", "hotfix for incident 42") == 0

    record = ledger.history(SERVICE, "staging")[0]
    assert (record.phase, record.reason, record.digest) == (
        "verified", "hotfix for incident 42", images.good)
    assert record.actor and record.started_at > 0
    assert "Conveyor-Override: hotfix for incident 42" in git(monorepo.central, "log", "-1",
                                                             "--format=%B", "main")


def test_production_needs_an_approval(monorepo: Monorepo, images: Images,
                                      clean_containers: None,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    give_evidence(images.good)
    for env in ("test", "staging"):
        assert conveyor(monorepo, "promote", SERVICE, "--to", env, "--digest", images.good) == 0
    assert conveyor(monorepo, "promote", SERVICE, "--to", "production", "--from",
                    "staging") == 2
    assert "approval: production needs an approver" in capsys.readouterr().err
    # a declared approver is not an identity
    assert conveyor(monorepo, "promote", SERVICE, "--to", "production", "--from", "staging",
                    "--approver", "carol") == 2
    assert "--approver NAME is not accepted" in capsys.readouterr().err
    assert conveyor(monorepo, "promote", SERVICE, "--env", "production", "--from", "staging",
                    "--approve") == 0
    assert ledger.history(SERVICE, "production")[0].approver == ME


def test_a_self_declared_identity_never_reaches_the_records_and_lists_are_enforced(
        monorepo: Monorepo, images: Images, clean_containers: None,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The reproduction of issue 12 #2: mallory walks an untested digest to production."""
    give_evidence(images.good)
    monkeypatch.setenv("CONVEYOR_ACTOR", "mallory")
    monkeypatch.setenv("CONVEYOR_APPROVER", "mallory")
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    assert conveyor(monorepo, "promote", SERVICE, "--to", "staging", "--digest", images.good,
                    "--override", "--reason", "x") == 0
    record = ledger.history(SERVICE, "staging")[0]
    assert record.actor == ME != "mallory"
    log = git(monorepo.central, "log", "-1", "--format=%B", "main")
    assert f"Conveyor-Actor: {ME}" in log and "mallory" not in log
    # production without an approval from the list: refused, even with the variable set
    assert conveyor(monorepo, "promote", SERVICE, "--to", "production", "--from",
                    "staging") == 2
    assert "needs an approver" in capsys.readouterr().err

    # someone outside the lists may neither override nor approve
    strict = dataclasses.replace(monorepo.config.settings.environment("production"),
                                 approvers=("release-managers-only",), overriders=())
    outsider = identity.current()
    assert not identity.may_approve(outsider, strict) or "release-managers-only" in (
        outsider.groups)
    assert not identity.may_override(outsider, strict) or "release-managers-only" in (
        outsider.groups)
    assert not identity.may_approve(identity.system("conveyor-automatic"),
                                    monorepo.config.settings.environment("production"))
    assert identity.may_approve(identity.Actor("carol", "jenkins"),
                                monorepo.config.settings.environment("production"))
    assert identity.may_approve(identity.Actor("dave", "jenkins", frozenset({"rm"})),
                                dataclasses.replace(strict, approvers=("@rm",)))


def test_automatic_promotion_goes_to_staging_only_for_promote_branches(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    give_evidence(images.good)
    before = snapshot(monorepo)
    automatic.after_pipeline(monorepo.config, service=SERVICE, digest=images.good,
                               revision="f" * 40, ref=b"refs/heads/feature",
                               repository=str(monorepo.central))
    assert snapshot(monorepo) == before

    automatic.after_pipeline(monorepo.config, service=SERVICE, digest=images.good,
                               revision="f" * 40, ref="refs/heads/main",
                               repository=str(monorepo.central))
    assert ledger.is_verified(SERVICE, "test", images.good)
    assert ledger.is_verified(SERVICE, "staging", images.good)
    assert ledger.history(SERVICE, "production") == []
    assert not containers.is_running(deploy.container_name("production", SERVICE))


def test_an_image_labelled_with_another_revision_than_its_evidence_is_refused(
        monorepo: Monorepo, images: Images, capsys: pytest.CaptureFixture[str]) -> None:
    base = base_image.ensure(base_image.default_recipe_dir(REPO))
    labelled = build_and_push(base, images.registry, "v5", "good",
                               labels={"org.opencontainers.image.revision": "a" * 40})
    give_evidence(labelled, revision="b" * 40)
    before = snapshot(monorepo)

    assert conveyor(monorepo, "promote", SERVICE, "--to", "test", "--digest", labelled) == 2

    assert snapshot(monorepo) == before
    assert ("provenance: the image says it was built from aaaaaaaaaaaa, its build record says "
            "bbbbbbbbbbbb") in capsys.readouterr().err
