"""The overlays: the real k8s/ renders and validates; pins are written atomically."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conveyor.promotion import overlays

from .conftest import REPO

DIGEST = "sha256:" + "b" * 64


@pytest.mark.parametrize("environment", ["test", "staging", "production"])
def test_the_real_overlays_render_and_pass_strict_validation(environment: str) -> None:
    documents = overlays.render_and_validate(REPO, environment)
    kinds = sorted(d["kind"] for d in documents)
    assert kinds.count("Deployment") == 2 and kinds.count("Service") == 2
    assert ("HorizontalPodAutoscaler" in kinds) == (environment == "production")
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
        assert "readinessProbe" in container and "livenessProbe" in container


def test_an_unknown_field_fails_strict_validation() -> None:
    documents = overlays.render(REPO, "test")
    next(d for d in documents if d["kind"] == "Deployment")["spec"]["replicaz"] = 2
    with pytest.raises(overlays.Refusal, match="replicaz"):
        overlays.validate(documents, "test")


def test_a_pin_is_added_replaced_and_removed() -> None:
    data = {"images": [{"name": "other", "digest": DIGEST}]}
    pinned = overlays.with_pin(data, "conveyor/x", "r:1/conveyor/x", DIGEST)
    assert overlays.pins(pinned) == {"other": DIGEST, "conveyor/x": DIGEST}
    assert overlays.pins(overlays.with_pin(pinned, "conveyor/x", "n", None)) == {"other": DIGEST}


WRITER = """
import sys
from conveyor.util import atomic
path, a, b = sys.argv[1], b"A" * 4_000_000, b"B" * 4_000_000
while True:
    atomic.write_bytes(path, a)
    atomic.write_bytes(path, b)
"""


def test_kill_9_during_overlay_writes_leaves_old_or_new_never_torn(tmp_path: Path) -> None:
    target = tmp_path / "kustomization.yaml"
    target.write_bytes(b"A" * 4_000_000)
    for _ in range(5):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
        time.sleep(random.uniform(0.3, 0.8))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        content = target.read_bytes()
        assert content in (b"A" * 4_000_000, b"B" * 4_000_000)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "kustomization.yaml"]
    assert all(name.startswith(".kustomization.yaml.") for name in leftovers)


def test_the_local_deployer_reads_the_rendered_deployment_of_the_real_services() -> None:
    from conveyor.config import loader
    from conveyor.promotion import deploy

    cfg = loader.load_dir(REPO)
    documents = overlays.render(REPO, "staging")
    gateway = deploy.plan(cfg, "staging", cfg.pipeline("gateway"), documents)
    strength = deploy.address(cfg, "staging", "password-strength")
    assert gateway.env["PASSWORD_STRENGTH_ADDR"] == strength
    assert strength.startswith("127.0.0.1:22")
    assert "HOST" not in gateway.env and "PORT" not in gateway.env
    assert (gateway.health, gateway.replicas) == ("/readyz", 2)
    assert deploy.plan(cfg, "staging", cfg.pipeline("password-strength"), documents).health \
        == "grpc"
    assert deploy.port(cfg, "staging", "gateway") != deploy.port(cfg, "staging",
                                                                 "password-strength")
