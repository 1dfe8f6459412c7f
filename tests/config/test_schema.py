"""The one schema: strict keys with a hint, the loader and docs agree with it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from conveyor.config import loader, schema, sources
from conveyor.config import model as config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    shutil.copy(REPO / "conveyor.toml", tmp_path / "conveyor.toml")
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    return tmp_path


def test_the_repository_configuration_is_strictly_valid() -> None:
    for file in ["conveyor.toml", *(f"pipelines/{p.name}" for p in
                                     sorted((REPO / "pipelines").glob("*.toml")))]:
        data = loader.read_toml(sources.DirectorySource(REPO), file)
        assert schema.problems(file, data) == [], file
    loader.load_dir(REPO)


@pytest.mark.parametrize(("file", "before", "after", "expected"), [
    ("pipelines/gateway.toml", "depends_on =", "dependencies =",
     "pipelines/gateway.toml: service.dependencies: unknown key; did you mean `depends_on`?"),
    ("conveyor.toml", "global_paths =", "global_path =",
     "conveyor.toml: project.global_path: unknown key; did you mean `global_paths`?"),
    ("conveyor.toml", 'kind = "local"', 'kind = "local"\nkinds = "jenkins"',
     "conveyor.toml: executor.kinds: unknown key; did you mean `kind`?"),
    ("conveyor.toml", "[environments.staging]", "[environments.stagin]",
     "conveyor.toml: environments.stagin: is not in environments.order; did you mean "
     "`staging`?"),
    ("pipelines/gateway.toml", "[performance]", "[performanse]",
     "pipelines/gateway.toml: performanse: unknown key (not a table of this file); did you "
     "mean `performance`?"),
    ("conveyor.toml", 'kind = "local"', 'kind = "lokal"',
     "conveyor.toml: executor.kind: 'lokal' is not one of local, jenkins, command"),
    ("pipelines/gateway.toml", 'paths = ["services/gateway/"]', 'paths = "services/gateway/"',
     "pipelines/gateway.toml: service.paths: must be a list of repository paths, not a "
     "string"),
    ("pipelines/gateway.toml", 'depends_on = ["protos/"]', 'depends_on = ["../protos/"]',
     "pipelines/gateway.toml: service.depends_on: '../protos/' must be a path inside"),
])
def test_a_typo_is_an_error_naming_the_right_key(monorepo: Path, file: str, before: str,
                                                 after: str, expected: str) -> None:
    text = (monorepo / file).read_text()
    assert before in text
    (monorepo / file).write_text(text.replace(before, after, 1))
    with pytest.raises(config.ConfigError) as error:
        loader.load_dir(monorepo)
    assert str(error.value).startswith(expected), str(error.value)


def _typos(name: str) -> list[str]:
    return [name[:-1], name + "s" if not name.endswith("s") else name[:-1] + "x",
            name.replace("_", "")]


@pytest.mark.parametrize("file", ["conveyor.toml", "pipelines/x.toml"])
def test_every_key_of_every_table_suggests_itself_when_misspelt(file: str) -> None:
    for table in schema.tables_for(file):
        if table.free:
            continue
        where = table.name.replace("*", "test")
        for key in table.keys:
            for typo in {t for t in _typos(key.name) if t and table.key(t) is None}:
                data: dict[str, Any] = {}
                node = data
                for part in where.split("."):
                    node = node.setdefault(part, {})
                node[typo] = 1
                found = dict(schema.problems(file, data))
                message = found.get(f"{where}.{typo}", "")
                assert f"did you mean `{key.name}`?" in message, (where, typo, found)


@pytest.mark.parametrize("text", ["", "# only a comment\n\n", "[policy]\nguard = true\n"])
def test_an_empty_or_truncated_conveyor_toml_is_an_error(monorepo: Path, text: str) -> None:
    (monorepo / "conveyor.toml").write_text(text)
    with pytest.raises(config.ConfigError, match=r"^conveyor.toml: .*(empty|truncated)"):
        loader.load_dir(monorepo)


def test_the_loader_reads_only_declared_keys_with_their_defaults(
        monorepo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Anyone adding a key to loader.py must declare it in schema.py (or it is refused)."""
    reads: list[tuple[str, str, Any]] = []
    original = loader._Table._get

    def spy(self: loader._Table, name: str, kind: Any, default: Any) -> Any:
        reads.append((self.file, self.key(name), default))
        return original(self, name, kind, default)

    monkeypatch.setattr(loader._Table, "_get", spy)
    (monorepo / "conveyor.toml").write_text("[project]\n")
    (monorepo / "pipelines" / "password-strength.toml").unlink()
    (monorepo / "pipelines" / "gateway.toml").write_text(
        '[service]\nname = "gateway"\n[integration]\n')
    loader.load_dir(monorepo)
    assert reads
    for file, dotted, default in reads:
        table_name, _, key_name = dotted.rpartition(".")
        table_name = "environments.*" if table_name.startswith("environments.") and (
            table_name != "environments") else table_name
        tables = {t.name: t for t in schema.tables_for(file)}
        key = tables[table_name].key(key_name)
        assert key is not None, f"{file}: {dotted} is read but not in config/schema.py"
        declared = key.default
        if "{name}" in str(declared):
            declared = _per_service(declared)
        if declared is schema.REQUIRED or isinstance(declared, str) and (
                key.kind not in ("text", "path")):
            continue  # required, or a rule in words
        if isinstance(default, tuple):
            default = list(default)
        if default is loader._REQUIRED:
            continue
        assert default == declared, (dotted, default, declared)


def _per_service(value: Any) -> Any:
    if isinstance(value, list):
        return [v.replace("{name}", "gateway") for v in value]
    return value.replace("{name}", "gateway")


def test_the_documentation_is_generated_from_the_schema() -> None:
    assert (REPO / "docs" / "configuration.md").read_text() == schema.markdown(), (
        "run: python -m conveyor.config.schema > docs/configuration.md")
