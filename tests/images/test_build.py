"""The build stage: one image per content, pushed, identified by the registry's digest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conveyor.config import loader
from conveyor.errors import ConveyorError
from conveyor.git import plumbing as git
from conveyor.images import builder as images
from conveyor.images import engine, registry_server
from conveyor.images.registry import Client
from tests.support import records
from tests.support.repo import commit
from tests.support.services import write

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def builds() -> list[sqlite3.Row]:
    return records.rows("SELECT * FROM builds")


def test_same_content_twice_is_built_once_with_the_same_digest(monorepo: Path,
                                                               registry: str) -> None:
    cfg = loader.load_dir(monorepo)
    head = git.rev_parse(monorepo, "HEAD")
    assert head
    first = images.build(cfg, monorepo, head, "names", progress=lambda _: None)
    lines: list[str] = []
    second = images.build(cfg, monorepo, head, "names", progress=lines.append)

    assert second.reused and second.image.digest == first.image.digest
    assert any("nothing to build" in line for line in lines)
    client = Client(registry)
    assert client.manifest_digest("conveyor-test/names", first.image.content_key) == \
        first.image.digest
    assert images.find(cfg, "names", first.image.content_key) == first.image
    labels = engine.client().images.get(first.image.reference).labels
    # The label names the commit the image was built from: this one, unless an earlier test
    # of the session built the same content (the registry is shared) from another commit.
    assert labels["org.opencontainers.image.revision"] == first.image.revision
    assert first.image.revision == head or first.reused
    assert labels["conveyor.content-key"] == first.image.content_key
    assert labels["org.opencontainers.image.created"].endswith("Z")


def test_a_code_only_change_reuses_the_dependency_layer(monorepo: Path) -> None:
    cfg = loader.load_dir(monorepo)
    old = images.build(cfg, monorepo, git.output(monorepo, "rev-parse", "HEAD"), "names",
                       progress=lambda _: None)
    app = monorepo / "services/names/app.py"
    app.write_text(app.read_text().replace('GREETING = "hello"', 'GREETING = "hi"'))
    new = images.build(cfg, monorepo, commit(monorepo, "code only"), "names",
                       progress=lambda _: None)

    assert not new.reused and new.image.digest != old.image.digest
    old_layers = engine.client().images.get(old.image.reference).attrs["RootFS"]["Layers"]
    new_layers = engine.client().images.get(new.image.reference).attrs["RootFS"]["Layers"]
    assert old_layers[:-1] == new_layers[:-1], "base and venv layers are shared"
    assert old_layers[-1] != new_layers[-1]


def test_the_final_image_holds_no_ca_bundle(monorepo: Path) -> None:
    cfg = loader.load_dir(monorepo)
    built = images.build(cfg, monorepo, git.output(monorepo, "rev-parse", "HEAD"), "names",
                         progress=lambda _: None)
    output = engine.client().containers.run(
        built.image.reference, ["/bin/sh", "-c", "ls /tmp /.conveyor 2>&1; true"], remove=True)
    assert b"ca-bundle" not in output


def test_a_push_error_inside_the_stream_records_no_digest(monorepo: Path,
                                                           tmp_path: Path) -> None:
    from conveyor.images import containers

    address = f"127.0.0.1:{containers.free_port()}"
    registry_server.start(address, tmp_path / "readonly", readonly=True)
    try:
        toml = monorepo / "conveyor.toml"
        toml.write_text(toml.read_text().replace(
            toml.read_text().split('address = "')[1].split('"')[0], address))
        head = commit(monorepo, "point at a read-only registry")
        cfg = loader.load_dir(monorepo)
        with pytest.raises(ConveyorError, match="push of .* failed"):
            images.build(cfg, monorepo, head, "names", progress=lambda _: None)
        assert builds() == []
    finally:
        registry_server.stop(address, tmp_path / "readonly")


def test_the_stages_use_the_digest_built_for_the_configured_registry(
        monorepo: Path, registry: str, tmp_path: Path) -> None:
    """Issue 12 #3: build records were keyed by service and content key only, so the same
    content built for a second registry left no record of its own there."""
    from conveyor.images import containers
    from conveyor.pipeline.context import StageContext

    first_config = loader.load_dir(monorepo)
    first = images.build(first_config, monorepo, git.output(monorepo, "rev-parse", "HEAD"),
                         "names", progress=lambda _: None)
    other = f"127.0.0.1:{containers.free_port()}"
    registry_server.start(other, tmp_path / "other")
    try:
        toml = monorepo / "conveyor.toml"
        toml.write_text(toml.read_text().replace(registry, other))
        head = commit(monorepo, "point at another registry")
        other_config = loader.load_dir(monorepo)
        second = images.build(other_config, monorepo, head, "names", progress=lambda _: None)
        assert second.image.content_key == first.image.content_key  # the same content
        assert not second.reused

        assert sorted((r["repository"], r["digest"]) for r in builds()) == sorted([
            (f"{registry}/conveyor-test/names", first.image.digest),
            (f"{other}/conveyor-test/names", second.image.digest)])
        for cfg, built in ((first_config, first), (other_config, second)):
            ctx = StageContext(cfg, monorepo, monorepo, "names", head, tmp_path / "reports")
            assert ctx.image() == built.image  # this registry's record, not the other's
    finally:
        registry_server.stop(other, tmp_path / "other")


def test_a_missing_dockerfile_is_named(monorepo: Path) -> None:
    write(monorepo, "pipelines/names.toml",
          (monorepo / "pipelines/names.toml").read_text().replace(
              'repository =', 'dockerfile = "services/names/Nope"\nrepository ='))
    write(monorepo, "services/names/NOTES", "new content, so nothing is reused\n")
    head = commit(monorepo, "bad dockerfile path")
    with pytest.raises(ConveyorError, match="services/names/Nope"):
        images.build(loader.load_dir(monorepo), monorepo, head, "names",
                     progress=lambda _: None)


def test_a_build_step_cannot_see_the_builders_secrets(
        monorepo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A `RUN` in a service Dockerfile sees neither the Jenkins token nor the registry
    password that the process running the build holds (RELIABILITY #28, #39)."""
    token, password = "jenkins-token-5f1d9c", "registry-password-77ab21"
    monkeypatch.setenv("JENKINS_TOKEN", token)
    monkeypatch.setenv("CONVEYOR_REGISTRY_PASSWORD", password)
    (tmp_path / "secret-file").write_text(token)
    dockerfile = monorepo / "services/names/Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace(
        "RUN python3 -m venv /opt/venv",
        "RUN (env; cat /proc/1/environ; ls -R / 2>/dev/null | grep -c secret-file) "
        "> /opt/probe.txt 2>&1; python3 -m venv /opt/venv").replace(
        "COPY --from=deps /opt/venv /opt/venv",
        "COPY --from=deps /opt/venv /opt/venv\nCOPY --from=deps /opt/probe.txt /opt/probe.txt"))
    cfg = loader.load_dir(monorepo)
    lines: list[str] = []
    built = images.build(cfg, monorepo, commit(monorepo, "probe the build environment"),
                         "names", progress=lines.append)
    probe = engine.client().containers.run(built.image.reference, ["cat", "/opt/probe.txt"],
                                           remove=True).decode()
    assert "PATH=" in probe  # the probe really ran
    for secret in (token, password):
        assert secret not in probe
        assert all(secret not in line for line in lines)
    assert probe.strip().endswith("0")  # no file of the builder's is visible
