"""The embedded registry and its HTTP API: digests, credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor import cli
from conveyor.config import loader
from conveyor.config.model import Registry
from conveyor.errors import Refusal, Retryable
from conveyor.git import plumbing as git
from conveyor.images import builder as images
from conveyor.images import containers, registry_server
from conveyor.images.registry import Client
from conveyor.util import redact
from tests.support.repo import commit


def test_start_status_stop_in_its_own_home(tmp_path: Path) -> None:
    address = f"127.0.0.1:{containers.free_port()}"
    srv = registry_server.start(address, tmp_path)
    try:
        assert registry_server.status(address, tmp_path)["answering"] is True
        assert srv.pid() is not None and (tmp_path / "config.yml").is_file()
        assert registry_server.start(address, tmp_path).pid() == srv.pid()  # already running
    finally:
        assert registry_server.stop(address, tmp_path)
    assert registry_server.status(address, tmp_path)["answering"] is False
    assert not registry_server.stop(address, tmp_path)


def test_the_embedded_registry_listens_on_loopback_only() -> None:
    with pytest.raises(Exception, match="127.0.0.1 only"):
        registry_server.server("0.0.0.0:5000")


def test_an_unreachable_registry_is_retryable() -> None:
    with pytest.raises(Retryable):
        Client(f"127.0.0.1:{containers.free_port()}").manifest_digest("x", "y")


def test_credentials_come_from_named_variables_and_are_masked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Registry("registry.example.invalid:443", False, "REG_USER", "REG_PASSWORD")
    with pytest.raises(Refusal, match="REG_PASSWORD"):
        Client.from_settings(settings)
    monkeypatch.setenv("REG_USER", "builder")
    monkeypatch.setenv("REG_PASSWORD", "s3cret-value")
    client = Client.from_settings(settings)
    assert client.base_url.startswith("https://")
    assert client.auth_config() == {"username": "builder", "password": "s3cret-value"}
    assert "s3cret-value" not in redact.redact("login with s3cret-value")


@pytest.mark.docker
@pytest.mark.slow
def test_the_registry_reports_the_pushed_digest(monorepo: Path, registry: str) -> None:
    built = images.build(loader.load_dir(monorepo), monorepo,
                         git.output(monorepo, "rev-parse", "HEAD"), "names",
                         progress=lambda _: None)
    client = Client(registry)
    digest = built.image.digest

    assert client.manifest_digest("conveyor-test/names", digest) == digest
    assert client.has_digest("conveyor-test/names", digest)
    assert client.manifest_digest("conveyor-test/names", "never-pushed") is None


def test_registry_command_starts_and_stops_the_configured_registry(
        monorepo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = containers.free_port()
    toml = monorepo / "conveyor.toml"
    text = toml.read_text()
    toml.write_text(text.replace(text.split('address = "')[1].split('"')[0],
                                 f"127.0.0.1:{port}"))
    commit(monorepo, "own registry port")
    try:
        assert cli.main(["registry", "start", "--repo", str(monorepo)]) == 0
        assert cli.main(["registry", "status", "--repo", str(monorepo)]) == 0
    finally:
        assert cli.main(["registry", "stop", "--repo", str(monorepo)]) == 0
    assert cli.main(["registry", "status", "--repo", str(monorepo)]) == 1  # not answering
    assert f"127.0.0.1:{port}" in capsys.readouterr().out
