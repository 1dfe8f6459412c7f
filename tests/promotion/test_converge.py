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
