"""conveyor.toml and pipelines/*.toml, validated once into the model's frozen dataclasses.

Config is read from a working directory or from a commit of a (bare) repository, so the
hook judges a push by the configuration that push carries. Errors name the file and key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conveyor.config.model import (
    ENV_NAME,
    SERVICE_NAME,
    STAGE_NAMES,
    Config,
    ConfigError,
    Environment,
    Integration,
    Jenkins,
    Performance,
    Pipeline,
    Policy,
    Registry,
    Settings,
)
from conveyor.config.sources import CommitSource, DirectorySource, Source
from conveyor.errors import UsageError


class _Table:
    """Typed access to one TOML table, with errors that name file and key."""

    def __init__(self, file: str, prefix: str, data: Mapping[str, Any]) -> None:
        self.file, self.prefix, self.data = file, prefix, data

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), message)

    def table(self, name: str) -> _Table:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(name, "must be a table")
        return _Table(self.file, self.key(name), value)

    def _get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        if name not in self.data:
            if default is _REQUIRED:
                raise self.fail(name, "is required")
            return default
        value = self.data[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            raise self.fail(name, f"must be {_kind_name(kind)}, not {type(value).__name__}")
        return value

    def text(self, name: str, default: Any = None) -> Any:
        return self._get(name, str, _REQUIRED if default is None else default)

    def optional_str(self, name: str) -> str | None:
        value: str | None = self._get(name, str, None)
        return value

    def flag(self, name: str, default: bool) -> bool:
        value: bool = self._get(name, bool, default)
        return value

    def integer(self, name: str, default: int) -> int:
        value: int = self._get(name, int, default)
        return value

    def number(self, name: str, default: float | None) -> float | None:
        value = self._get(name, (int, float), default)
        return float(value) if value is not None else None

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self._get(name, list, list(default))
        if not all(isinstance(v, str) for v in value):
            raise self.fail(name, "must be a list of strings")
        return tuple(value)

    def mapping(self, name: str) -> dict[str, str]:
        value = self._get(name, dict, {})
        if not all(isinstance(v, str) for v in value.values()):
            raise self.fail(name, "must map names to strings")
        return dict(value)

    def check_known(self, *known: str) -> None:
        for name in self.data:
            if name not in known:
                raise self.fail(name, f"unknown key (known: {', '.join(known)})")


_REQUIRED = object()


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", int: "an integer", list: "a list",
             dict: "a table"}
    if isinstance(kind, tuple):
        return "a number"
    return names.get(kind, kind.__name__)


def read_toml(source: Source, path: str) -> dict[str, Any]:
    """The TOML of `path`, not yet checked against the schema."""
    raw = source.read(path)
    if raw is None:
        raise ConfigError(path, "", "not found")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "", f"not valid TOML: {exc}") from None
    if not data:
        raise ConfigError(path, "", "is empty (an empty or truncated file?)")
    return data


def _parse(source: Source, path: str) -> _Table:
    """The file, checked against the schema (config/schema.py): every key of every table."""
    from conveyor.config import schema

    data = read_toml(source, path)
    for key, message in schema.problems(path, data)[:1]:
        raise ConfigError(path, key, message)
    return _Table(path, "", data)


def _repo_path(table: _Table, name: str, value: str) -> str:
    """A repository-relative path: no absolute paths, no `..`, directories end with '/'."""
    if not value or value.startswith("/") or ".." in value.split("/") or "\\" in value:
        raise table.fail(name, f"{value!r} must be a path inside the repository")
    return value


def load_settings(source: Source) -> Settings:
    t = _parse(source, "conveyor.toml")
    t.check_known("project", "registry", "build", "executor", "environments", "jenkins",
                  "policy")
    project = t.table("project")
    registry = t.table("registry")
    build = t.table("build")
    executor = t.table("executor")
    jenkins = t.table("jenkins")
    policy = t.table("policy")

    kind = executor.text("kind", "local")
    if kind not in ("local", "jenkins", "command"):
        raise executor.fail("kind", f"{kind!r} is not one of local, jenkins, command")

    if "project" not in t.data:
        raise ConfigError(t.file, "project", "[project] is required (a truncated file?)")
    envs_table = t.table("environments")
    order = envs_table.strings("order", ("test", "staging", "production"))
    for name in envs_table.data:
        if name != "order" and name not in order:
            from conveyor.config.schema import closest

            hint = closest(name, list(order))
            raise envs_table.fail(name, "is not in environments.order" + (
                f"; did you mean `{hint}`?" if hint else f" ({', '.join(order)})"))
    environments = []
    for index, name in enumerate(order):
        if not ENV_NAME.match(name):
            raise envs_table.fail("order", f"{name!r} is not a valid environment name")
        env = envs_table.table(name)
        env.check_known("requires", "automatic", "approval", "approvers", "overriders",
                        "port_base", "cluster_context")
        requires = env.strings("requires", STAGE_NAMES)
        for stage in requires:
            if stage not in STAGE_NAMES:
                raise env.fail("requires", f"{stage!r} is not a stage ({', '.join(STAGE_NAMES)})")
        environments.append(Environment(
            name=name,
            requires=requires,
            automatic=env.flag("automatic", index < len(order) - 1),
            approval=env.flag("approval", index == len(order) - 1),
            approvers=env.strings("approvers", ()),
            overriders=env.strings("overriders", ()),
            port_base=env.integer("port_base", 20000 + 1000 * index),
            cluster_context=env.optional_str("cluster_context"),
        ))

    protected = policy.table("protected_paths")
    global_paths = tuple(_repo_path(project, "global_paths", p)
                         for p in project.strings("global_paths", ("build/", "Jenkinsfile")))
    return Settings(
        file="conveyor.toml",
        default_branch=project.text("default_branch", "main"),
        trigger_branches=project.strings("trigger_branches", ("*",)),
        promote_branches=project.strings("promote_branches", (project.text("default_branch",
                                                                          "main"),)),
        build_tags=project.flag("build_tags", False),
        global_paths=global_paths,
        promotion_paths=project.strings("promotion_paths", ("k8s/overlays/",)),
        executor=kind,
        executor_command=executor.strings("command", ()),
        registry=Registry(
            address=registry.text("address", "127.0.0.1:5000"),
            embedded=registry.flag("embedded", True),
            username_env=registry.optional_str("username_env"),
            password_env=registry.optional_str("password_env"),
        ),
        ca_bundle=build.optional_str("ca_bundle"),
        base_recipe=build.text("base_recipe", "build/base"),
        environments=tuple(environments),
        jenkins=Jenkins(
            url=jenkins.text("url", "http://127.0.0.1:8080"),
            folder=jenkins.text("folder", "conveyor"),
            agent_label=jenkins.text("agent_label", "docker"),
            repository_url=jenkins.text("repository_url", ""),
            user_env=jenkins.text("user_env", "JENKINS_USER"),
            token_env=jenkins.text("token_env", "JENKINS_TOKEN"),
            credentials_file=jenkins.optional_str("credentials_file"),
            allow_plain_http=jenkins.flag("allow_plain_http", False),
            approvers=jenkins.text("approvers", "release-managers"),
            repository_credentials_id=jenkins.text("repository_credentials_id", ""),
            allow_local_repository=jenkins.flag("allow_local_repository", False),
        ),
        policy=Policy(
            promotion_identity=policy.text("promotion_identity",
                                          "Conveyor Promotions <promotions@conveyor.invalid>"),
            protected_paths={p: protected.strings(p) for p in protected.data},
            ref_pattern=policy.text("ref_pattern", r"^refs/(heads|tags)/[^\x00-\x1f\x7f]+$"),
            guard=policy.flag("guard", False),
            pusher_variable=policy.text("pusher_variable", ""),
        ),
    )


def load_pipeline(source: Source, file: str, settings: Settings) -> Pipeline:
    t = _parse(source, file)
    t.check_known("service", "image", "unit", "integration", "performance")
    service = t.table("service")
    name = service.text("name")
    if not SERVICE_NAME.match(name):
        raise service.fail("name", f"{name!r} must match {SERVICE_NAME.pattern}")
    if f"pipelines/{name}.toml" != file:
        raise service.fail("name", f"{name!r} does not match the file name")
    paths = tuple(_repo_path(service, "paths", p)
                  for p in service.strings("paths", (f"services/{name}/",)))
    for path in paths:
        if source.is_link_or_outside(path):
            raise service.fail("paths", f"{path!r} is a symbolic link or leaves the repository")
    dependencies = tuple(_repo_path(service, "depends_on", p)
                         for p in service.strings("depends_on", ()))
    image = t.table("image")
    unit = t.table("unit")
    integration = t.table("integration")
    performance = t.table("performance")
    perf_kind = performance.text("kind", "http")
    if perf_kind not in ("http", "grpc"):
        raise performance.fail("kind", "must be http or grpc")
    return Pipeline(
        file=file,
        name=name,
        paths=paths,
        dependencies=dependencies,
        dockerfile=_repo_path(image, "dockerfile",
                              image.text("dockerfile", f"services/{name}/Dockerfile")),
        image=image.text("repository", f"conveyor/{name}"),
        port=image.integer("port", 8080),
        npm_inputs=image.strings("npm_inputs", ()),
        labels=image.mapping("labels"),
        computed_labels=_computed_labels(image),
        unit_tests=unit.text("tests", f"services/{name}/tests/unit"),
        integration=Integration(
            needs=integration.strings("needs", ()),
            health=integration.text("health", "/healthz"),
            env=integration.mapping("env"),
            tests=integration.text("tests", f"services/{name}/tests/integration"),
            test_env=integration.mapping("test_env"),
            timeout=integration.number("timeout_s", 300.0) or 300.0,
        ),
        performance=Performance(
            kind=perf_kind,
            target=performance.text("target", "/healthz"),
            payload=performance.text("payload", ""),
            duration_s=performance.number("duration_s", 10.0) or 10.0,
            max_requests=performance.integer("max_requests", 2000),
            concurrency=performance.integer("concurrency", 8),
            p50_ms=performance.number("p50_ms", None),
            p95_ms=performance.number("p95_ms", None),
            p99_ms=performance.number("p99_ms", None),
            min_rps=performance.number("min_rps", None),
            regression_pct=performance.number("regression_pct", 50.0) or 50.0,
        ),
    )


def _computed_labels(image: _Table) -> dict[str, str]:
    labels = image.mapping("computed_labels")
    for label, spec in labels.items():
        target, _, path = str(spec).partition(":")
        if not target or not path.startswith("/"):
            raise image.fail("computed_labels", f"{label}: {spec!r} must be '<target>:/path'")
    return labels


def load(source: Source) -> Config:
    settings = load_settings(source)
    pipelines: dict[str, Pipeline] = {}
    for entry in source.names("pipelines"):
        if entry.endswith(".toml"):
            pipeline = load_pipeline(source, f"pipelines/{entry}", settings)
            pipelines[pipeline.name] = pipeline
    for pipeline in pipelines.values():
        for needed in pipeline.integration.needs:
            if needed not in pipelines:
                raise ConfigError(pipeline.file, "integration.needs", f"unknown service {needed!r}")
    _check_no_cycle(pipelines)
    return Config(settings, pipelines)


def _check_no_cycle(pipelines: Mapping[str, Pipeline]) -> None:
    """Services start their dependencies first, so `integration.needs` must not loop."""
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            cycle = " -> ".join((*path[path.index(name):], name))
            raise ConfigError(pipelines[path[-1]].file, "integration.needs", f"cycle: {cycle}")
        if name not in done:
            for needed in pipelines[name].integration.needs:
                visit(needed, (*path, name))
            done.add(name)

    for name in pipelines:
        visit(name, ())


def load_dir(root: str | os.PathLike[str]) -> Config:
    return load(DirectorySource(root))


def load_commit(repo: str | os.PathLike[str], rev: str) -> Config:
    return load(CommitSource(repo, rev))


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The monorepo root: the nearest directory above `start` holding conveyor.toml."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "conveyor.toml").is_file():
            return folder
    raise UsageError("no conveyor.toml here or above: run this inside the monorepo "
                        "(or pass --repo)")
