"""Config is validated once, at the edge; errors name the file and the key."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conveyor.config import loader
from conveyor.errors import ConveyorError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    shutil.copy(REPO / "conveyor.toml", tmp_path / "conveyor.toml")
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    for service in ("gateway", "password-strength"):
        (tmp_path / "services" / service).mkdir(parents=True)
    return tmp_path


def test_the_repository_config_loads(monorepo: Path) -> None:
    loaded = loader.load_dir(monorepo)
    assert sorted(loaded.pipelines) == ["gateway", "password-strength"]
    assert [e.name for e in loaded.settings.environments] == ["test", "staging", "production"]
    production = loaded.settings.environment("production")
    assert production.approval and not production.automatic
    gateway = loaded.pipeline("gateway")
    assert gateway.source_paths(loaded.settings) == (
        "services/gateway/", "protos/", "build/", "Jenkinsfile")


def test_a_wrong_type_names_file_and_key(monorepo: Path) -> None:
    text = (monorepo / "pipelines/gateway.toml").read_text()
    (monorepo / "pipelines/gateway.toml").write_text(text.replace("port = 8080", 'port = "x"'))
    expected = r"pipelines/gateway.toml: image.port: must be an integer"
    with pytest.raises(ConveyorError, match=expected):
        loader.load_dir(monorepo)


def test_an_unknown_key_is_refused(monorepo: Path) -> None:
    with (monorepo / "conveyor.toml").open("a") as file:
        file.write("\n[surprise]\nx = 1\n")
    with pytest.raises(ConveyorError, match=r"conveyor.toml: surprise: unknown key"):
        loader.load_dir(monorepo)


def test_invalid_toml_names_the_file(monorepo: Path) -> None:
    (monorepo / "pipelines/gateway.toml").write_text("[service\n")
    with pytest.raises(ConveyorError, match=r"pipelines/gateway.toml: not valid TOML"):
        loader.load_dir(monorepo)


def test_a_pipeline_name_must_match_its_file(monorepo: Path) -> None:
    shutil.copy(monorepo / "pipelines/gateway.toml", monorepo / "pipelines/other.toml")
    with pytest.raises(ConveyorError, match=r"pipelines/other.toml: service.name"):
        loader.load_dir(monorepo)


def test_a_symlinked_service_directory_is_refused(monorepo: Path) -> None:
    shutil.rmtree(monorepo / "services/gateway")
    os.symlink("/etc", monorepo / "services/gateway")
    with pytest.raises(ConveyorError, match=r"symbolic link or leaves the repository"):
        loader.load_dir(monorepo)


def test_a_symlinked_service_directory_is_refused_in_a_commit(monorepo: Path) -> None:
    shutil.rmtree(monorepo / "services/gateway")
    os.symlink("/etc", monorepo / "services/gateway")
    git = ["git", "-C", str(monorepo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    with pytest.raises(ConveyorError, match=r"symbolic link"):
        loader.load_commit(monorepo, "HEAD")


def test_paths_may_not_leave_the_repository(monorepo: Path) -> None:
    text = (monorepo / "pipelines/gateway.toml").read_text()
    (monorepo / "pipelines/gateway.toml").write_text(
        text.replace('paths = ["services/gateway/"]', 'paths = ["../outside/"]'))
    with pytest.raises(ConveyorError, match=r"service.paths: '../outside/' must be a path inside"):
        loader.load_dir(monorepo)


def test_an_integration_dependency_must_be_a_service(monorepo: Path) -> None:
    text = (monorepo / "pipelines/gateway.toml").read_text()
    (monorepo / "pipelines/gateway.toml").write_text(
        text.replace('needs = ["password-strength"]', 'needs = ["nothing"]'))
    with pytest.raises(ConveyorError, match=r"integration.needs: unknown service 'nothing'"):
        loader.load_dir(monorepo)


def test_service_names_are_validated_before_lookup(monorepo: Path) -> None:
    loaded = loader.load_dir(monorepo)
    with pytest.raises(ConveyorError, match="not a service name"):
        loaded.pipeline("../etc")
    with pytest.raises(ConveyorError, match="unknown service 'billing'"):
        loaded.pipeline("billing")


def test_environments_are_ordered_and_known(monorepo: Path) -> None:
    settings = loader.load_dir(monorepo).settings
    assert settings.previous_environment("staging") is not None
    assert settings.previous_environment("test") is None
    with pytest.raises(ConveyorError, match="unknown environment 'prod'"):
        settings.environment("prod")


def test_branch_patterns(monorepo: Path) -> None:
    settings = loader.load_dir(monorepo).settings
    assert settings.may_promote("main") and not settings.may_promote("feature/x")
    assert settings.triggers("feature/x")


def test_integration_dependencies_must_not_loop(monorepo: Path) -> None:
    path = monorepo / "pipelines/password-strength.toml"
    looped = path.read_text().replace("[integration]\n", '[integration]\nneeds = ["gateway"]\n')
    path.write_text(looped)
    with pytest.raises(ConveyorError, match=r"cycle: .*gateway -> password-strength -> gateway|"
                                            r"cycle: .*password-strength -> gateway -> password"):
        loader.load_dir(monorepo)


def test_dependency_order_puts_what_is_needed_first(monorepo: Path) -> None:
    loaded = loader.load_dir(monorepo)
    assert loaded.in_dependency_order(["gateway", "password-strength"]) == [
        "password-strength", "gateway"]
    assert loaded.in_dependency_order(["gateway"]) == ["gateway"]
