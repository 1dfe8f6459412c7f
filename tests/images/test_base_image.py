"""The base image is made from a recipe, with no registry, and never remade for the same recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.errors import ConveyorError
from conveyor.images import base as base_image
from conveyor.images import engine

REPO = Path(__file__).resolve().parents[2]


def test_the_tag_is_the_recipe_hash(tmp_path: Path) -> None:
    recipe = base_image.load_recipe(REPO / "build/base")
    copy = tmp_path / "recipe.toml"
    copy.write_bytes((REPO / "build/base/recipe.toml").read_bytes() + b"\n# changed\n")
    changed = base_image.load_recipe(tmp_path)
    assert recipe.tag.startswith("conveyor/base:")
    assert recipe.tag != changed.tag


def test_a_broken_recipe_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "recipe.toml").write_text("suite = \n")
    with pytest.raises(ConveyorError, match="cannot read the base image recipe"):
        base_image.load_recipe(tmp_path)


def test_the_mirror_comes_from_the_hosts_apt_sources(tmp_path: Path, monkeypatch) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm "
                       "bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://other/\n"
                       "Suites: bookworm-security\n")
    monkeypatch.setattr(base_image, "APT_SOURCES", (sources,))
    assert base_image.host_mirror("bookworm") == "http://mirror.example/debian"
    with pytest.raises(ConveyorError, match="no apt source for 'trixie'"):
        base_image.host_mirror("trixie")


@pytest.mark.docker
def test_the_base_image_is_made_once_and_runs_python_as_a_user() -> None:
    tag = base_image.ensure(REPO / "build/base", progress=lambda _: None)
    first_id = engine.client().images.get(tag).id
    calls: list[str] = []
    assert base_image.ensure(REPO / "build/base", progress=calls.append) == tag
    assert calls == []  # reused: nothing made, nothing said
    assert engine.client().images.get(tag).id == first_id
    output = engine.client().containers.run(
        tag, ["python3", "-c", "import venv, sys; print(sys.version_info[:2])"],
        remove=True, network_mode="host", user="10001")
    assert output.decode().strip() == "(3, 11)"
    passwd = engine.client().containers.run(tag, ["getent", "passwd", "app"], remove=True,
                                            network_mode="host")
    assert passwd.decode().split(":")[2] == "10001"
