"""Promotion end to end on Docker: the same digest through test, staging and production."""

from __future__ import annotations

import json
import urllib.request

import pytest

from conveyor.promotion import deploy, overlays
from conveyor.promotion import promote as promotion
from conveyor.records import ledger

from .conftest import SERVICE, Images, Monorepo, git, give_evidence

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def answer(monorepo: Monorepo, env: str) -> dict[str, str]:
    address = deploy.address(monorepo.config, env, SERVICE)
    with urllib.request.urlopen(f"http://{address}/v1/answer", timeout=5) as response:
        result: dict[str, str] = json.load(response)
        return result


def promote(monorepo: Monorepo, env: str, digest: str, **kwargs: object) -> promotion.Outcome:
    return promotion.promote(monorepo.config, SERVICE, env, central_url=str(monorepo.central),
                             digest=digest, actor="alice", **kwargs)  # type: ignore[arg-type]


def pinned(monorepo: Monorepo, env: str) -> str | None:
    git(monorepo.root, "pull", "-q", "origin", "main")
    return overlays.pinned(monorepo.root, env, monorepo.config.pipeline(SERVICE))


def test_the_same_digest_runs_in_all_three_environments(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    give_evidence(images.good)
    promote(monorepo, "test", images.good)
    promote(monorepo, "staging", images.good)
    promote(monorepo, "production", images.good, approver="release-manager")

    env_of = monorepo.config.settings.environment
    pipeline = monorepo.config.pipeline(SERVICE)
    for env in ("test", "staging", "production"):
        assert pinned(monorepo, env) == images.good
        assert deploy.running_digest(monorepo.config, env_of(env), pipeline) == images.good
        assert answer(monorepo, env) == {"version": "v1", "greeting": f"hi from {env}"}
        assert ledger.is_verified(SERVICE, env, images.good)

    log = git(monorepo.central, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", "main")
    identity = "Conveyor Promotions <promotions@conveyor.invalid>"
    assert log.startswith(f"{identity}|{identity}|")
    assert f"Conveyor-Digest: {images.good}" in log
    assert "Conveyor-Environment: production" in log
    assert "Conveyor-Approved-By: release-manager" in log
    assert "Conveyor-Evidence: build=passed,integration=passed" in log


def test_re_promoting_what_is_there_is_a_no_op(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    give_evidence(images.good)
    promote(monorepo, "test", images.good)
    head = git(monorepo.central, "rev-parse", "main")
    records = len(ledger.history(SERVICE))

    outcome = promote(monorepo, "test", images.good)

    assert outcome.status == "unchanged"
    assert git(monorepo.central, "rev-parse", "main") == head
    assert len(ledger.history(SERVICE)) == records


def test_failed_verification_rolls_back_automatically(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    give_evidence(images.good)
    give_evidence(images.bad_verify)
    promote(monorepo, "test", images.good)

    with pytest.raises(promotion.ConveyorError, match="rolled back"):
        promote(monorepo, "test", images.bad_verify)

    assert pinned(monorepo, "test") == images.good
    assert answer(monorepo, "test")["version"] == "v1"
    phases = [(r.digest, r.phase, r.rollback) for r in ledger.history(SERVICE, "test")]
    assert phases[:2] == [(images.good, "verified", True), (images.bad_verify, "rolled-back",
                                                           False)]


def test_a_container_that_never_gets_healthy_leaves_everything_as_it_was(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    give_evidence(images.good)
    give_evidence(images.crash)
    promote(monorepo, "test", images.good)
    head = git(monorepo.central, "rev-parse", "main")
    records = ledger.history(SERVICE)

    with pytest.raises(promotion.ConveyorError, match="exited before it was healthy"):
        promote(monorepo, "test", images.crash)

    assert git(monorepo.central, "rev-parse", "main") == head
    failed, *rest = ledger.history(SERVICE)  # a visible, recorded outcome; nothing published
    assert rest == records
    assert (failed.digest, failed.phase, failed.commit_id) == (images.crash, "failed", None)
    assert answer(monorepo, "test")["version"] == "v1"


def test_verification_uses_the_tests_of_the_images_own_revision(
        monorepo: Monorepo, images: Images, clean_containers: None) -> None:
    built_from = git(monorepo.root, "rev-parse", "HEAD")
    give_evidence(images.good, revision=built_from)
    # Later, the acceptance tests change in a way this image does not satisfy.
    test_file = monorepo.root / f"services/{SERVICE}/tests/integration/test_acceptance.py"
    test_file.write_text(test_file.read_text().replace('"hi from "', '"howdy from "'))
    git(monorepo.root, "commit", "-qam", "new acceptance tests")
    git(monorepo.root, "push", "-q", "origin", "main")

    promote(monorepo, "test", images.good)  # checked by the tests it was built with
    assert ledger.is_verified(SERVICE, "test", images.good)

    give_evidence(images.good2)  # its revision is unknown: the newest tests check it
    with pytest.raises(promotion.ConveyorError, match="rolled back"):
        promote(monorepo, "test", images.good2)
