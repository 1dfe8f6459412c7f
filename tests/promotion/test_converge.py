"""`conveyor converge`: an environment's containers brought back to what its overlay pins.

Issue 12 #1: a container removed by hand, stopped, or running another digest than the pin
stays that way until something converges; nothing else notices.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from typing import Any

import pytest

from conveyor import cli
from conveyor.images import containers as docker_containers
from conveyor.images import engine
from conveyor.promotion import deploy, overlays
from conveyor.promotion import promote as promotion
from conveyor.records import ledger

from .conftest import ME, SERVICE, Images, Monorepo, git, give_evidence

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def converge(monorepo: Monorepo, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    capsys.readouterr()
    code = cli.main(["converge", "--env", "test", "--json", "--repo", str(monorepo.root),
                     "--central", str(monorepo.central)])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def running(monorepo: Monorepo) -> str | None:
    return deploy.running_digest(monorepo.config, monorepo.config.settings.environment("test"),
                                 monorepo.config.pipeline(SERVICE))


def answer_version(monorepo: Monorepo) -> str:
    address = deploy.address(monorepo.config, "test", SERVICE)
    with urllib.request.urlopen(f"http://{address}/v1/answer", timeout=5) as response:
        return str(json.load(response)["version"])


def promoted(monorepo: Monorepo, images: Images) -> None:
    give_evidence(images.good)
    promotion.promote(monorepo.config, SERVICE, "test", central_url=str(monorepo.central),
                      digest=images.good, actor="alice")


def only_change(report: Any) -> dict[str, Any]:
    (change,) = [c for c in report["changes"] if c["service"] == SERVICE]
    assert change["environment"] == "test"
    return dict(change)


def test_a_container_removed_by_hand_comes_back_with_the_pinned_digest(
        monorepo: Monorepo, images: Images, clean_containers: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    promoted(monorepo, images)
    docker_containers.remove(deploy.container_name("test", SERVICE))
    assert running(monorepo) is None
    records = len(ledger.history(SERVICE, "test"))

    code, report = converge(monorepo, capsys)

    assert code == 0
    change = only_change(report)
    assert (change["action"], change["pinned"], change["running"]) == (
        "redeployed", images.good, None)
    assert report["changed"] == 1
    assert running(monorepo) == images.good
    assert answer_version(monorepo) == "v1"
    newest, *older = ledger.history(SERVICE, "test")
    assert len(older) == records
    assert (newest.digest, newest.phase, newest.actor) == (images.good, "verified", ME)
    assert newest.reason == "converge: not running"
    # the container restarts on its own after a crash or a daemon restart
    container = engine.client().containers.get(deploy.container_name("test", SERVICE))
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"

    # converged: a second run changes nothing and records nothing
    code, report = converge(monorepo, capsys)
    assert code == 0
    assert only_change(report)["action"] == "unchanged" and report["changed"] == 0
    assert len(ledger.history(SERVICE, "test")) == records + 1


def test_a_stopped_container_is_started_again(
        monorepo: Monorepo, images: Images, clean_containers: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    promoted(monorepo, images)
    engine.client().containers.get(deploy.container_name("test", SERVICE)).stop(timeout=5)
    assert running(monorepo) is None

    code, report = converge(monorepo, capsys)

    assert code == 0
    assert only_change(report)["action"] == "redeployed"
    assert running(monorepo) == images.good
    assert answer_version(monorepo) == "v1"


def test_drift_to_another_digest_is_undone(
        monorepo: Monorepo, images: Images, clean_containers: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    promoted(monorepo, images)
    # someone runs v2 by hand under the deployment's name (kubectl set image, locally)
    git(monorepo.root, "pull", "-q", "origin", "main")
    env = monorepo.config.settings.environment("test")
    plan = deploy.plan(monorepo.config, "test", monorepo.config.pipeline(SERVICE),
                       overlays.render_and_validate(monorepo.root, "test"))
    other = f"{images.registry}/conveyor/{SERVICE}@{images.good2}"
    deploy.swap(monorepo.config, env, dataclasses.replace(plan, image=other,
                                                          digest=images.good2))
    assert running(monorepo) == images.good2 and answer_version(monorepo) == "v2"

    code, report = converge(monorepo, capsys)

    assert code == 0
    change = only_change(report)
    assert (change["action"], change["running"], change["pinned"]) == (
        "redeployed", images.good2, images.good)
    assert change["detail"] == f"runs {images.good2[7:19]}"
    assert running(monorepo) == images.good
    assert answer_version(monorepo) == "v1"
    assert ledger.history(SERVICE, "test")[0].reason == f"converge: runs {images.good2[7:19]}"


def status_cell(monorepo: Monorepo, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert cli.main(["status", "--json", "--repo", str(monorepo.root),
                     "--central", str(monorepo.central)]) == 0
    data = json.loads(capsys.readouterr().out)
    return dict(data["services"][SERVICE]["environments"]["test"])


def test_a_failed_promotion_shows_in_status_with_its_reason(
        monorepo: Monorepo, images: Images, clean_containers: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    promoted(monorepo, images)
    assert status_cell(monorepo, capsys)["last_failure"] is None
    give_evidence(images.crash)
    with pytest.raises(promotion.ConveyorError):
        promotion.promote(monorepo.config, SERVICE, "test", central_url=str(monorepo.central),
                          digest=images.crash, actor="alice")

    failure = status_cell(monorepo, capsys)["last_failure"]
    assert (failure["digest"], failure["phase"], failure["actor"]) == (
        images.crash, "failed", "alice")
    assert "exited before it was healthy" in failure["reason"]
    assert "\n" not in failure["reason"]
    assert cli.main(["status", "--repo", str(monorepo.root),
                     "--central", str(monorepo.central)]) == 0
    table = capsys.readouterr().out
    assert f"FAILED {images.crash[7:19]} (failed): " in table


def test_a_pin_that_cannot_run_fails_converge_visibly(
        monorepo: Monorepo, images: Images, clean_containers: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    promoted(monorepo, images)
    # someone pins a digest that exits at start, straight in git
    git(monorepo.root, "pull", "-q", "origin", "main")
    overlays.set_pin(monorepo.root, "test", monorepo.config.settings,
                     monorepo.config.pipeline(SERVICE), images.crash)
    git(monorepo.root, "commit", "-qam", "pin a digest by hand")
    git(monorepo.root, "push", "-q", "origin", "main")

    code, report = converge(monorepo, capsys)

    assert code == 1  # ConveyorError: an operation failed
    change = only_change(report)
    assert (change["action"], change["pinned"], change["running"]) == (
        "failed", images.crash, images.good)
    newest = ledger.history(SERVICE, "test")[0]
    assert (newest.digest, newest.phase) == (images.crash, "failed")
    assert newest.reason == f"converge: runs {images.good[7:19]}"
    failure = status_cell(monorepo, capsys)["last_failure"]
    assert failure["phase"] == "failed" and failure["attempt"].startswith("converge:")
    assert failure["reason"] == newest.failure and failure["reason"]
    assert running(monorepo) == images.good  # the swap put the old container back
