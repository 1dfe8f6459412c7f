"""conveyor.toml and pipelines/*.toml, validated once into frozen dataclasses.

Config is read from a working directory or from a commit of a (bare) repository, so the
hook judges a push by the configuration that push carries. Errors name the file and key.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.errors import ConfigError as BaseConfigError
from conveyor.errors import Refusal, UsageError
from conveyor.git import plumbing as git

SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
STAGE_NAMES = ("build", "unit", "integration", "performance")


class ConfigError(BaseConfigError):
    def __init__(self, file: str, key: str, message: str) -> None:
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


# ---------------------------------------------------------------- sources


class Source:
    """Where config files come from: a directory or a commit."""

    def read(self, path: str) -> bytes | None:
        raise NotImplementedError

    def names(self, directory: str) -> list[str]:
        raise NotImplementedError

    def is_link_or_outside(self, path: str) -> bool:
        raise NotImplementedError

    def exists(self, path: str) -> bool | None:
        """Whether anything is at `path` (None: this source cannot tell)."""
        return None


class DirectorySource(Source):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def read(self, path: str) -> bytes | None:
        file = self.root / path
        return file.read_bytes() if file.is_file() else None

    def names(self, directory: str) -> list[str]:
        folder = self.root / directory
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def exists(self, path: str) -> bool | None:
        return (self.root / path.rstrip("/")).exists()

    def is_link_or_outside(self, path: str) -> bool:
        candidate = self.root / path.rstrip("/")
        parts = Path(path.rstrip("/")).parts
        for i in range(1, len(parts) + 1):
            if (self.root.joinpath(*parts[:i])).is_symlink():
                return True
        return not candidate.resolve().is_relative_to(self.root)


class CommitSource(Source):
    def __init__(self, repo: str | os.PathLike[str], rev: str) -> None:
        self.repo, self.rev = repo, rev

    def read(self, path: str) -> bytes | None:
        return git.show_file(self.repo, self.rev, path)

    def exists(self, path: str) -> bool | None:
        spec = f"{self.rev}:{path.rstrip('/')}"
        return git.run(self.repo, "cat-file", "-e", spec, check=False).ok

    def names(self, directory: str) -> list[str]:
        return sorted(name for _mode, _kind, name in git.list_tree(self.repo, self.rev, directory))

    def is_link_or_outside(self, path: str) -> bool:
        parts = path.rstrip("/").split("/")
        for i in range(1, len(parts) + 1):
            parent, name = "/".join(parts[: i - 1]), parts[i - 1]
            for mode, _kind, entry in git.list_tree(self.repo, self.rev, parent) if parent else (
                self._root_entries()
            ):
                if entry == name and mode == "120000":
                    return True
        return False

    def _root_entries(self) -> list[tuple[str, str, str]]:
        result = git.run(self.repo, "ls-tree", "-z", self.rev, check=False)
        entries = []
        for record in result.stdout.split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                mode, kind, _ = meta.decode().split(" ")
                entries.append((mode, kind, name.decode("utf-8", "surrogateescape")))
        return entries


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Registry:
    address: str  # host:port
    embedded: bool
    username_env: str | None
    password_env: str | None


@dataclass(frozen=True)
class Environment:
    name: str
    requires: tuple[str, ...]
    automatic: bool
    approval: bool
    approvers: tuple[str, ...]
    port_base: int
    cluster_context: str | None
    overriders: tuple[str, ...] = ()  # who may --override into it (none: its approvers)


@dataclass(frozen=True)
class Jenkins:
    url: str
    folder: str
    agent_label: str
    repository_url: str
    user_env: str
    token_env: str
    credentials_file: str | None
    allow_plain_http: bool
    approvers: str
    repository_credentials_id: str = ""  # Jenkins credentials of the checkout; "" = none
    allow_local_repository: bool = False  # a file:// or path repository_url (single machine)


@dataclass(frozen=True)
class Policy:
    promotion_identity: str  # "Name <email>"
    protected_paths: Mapping[str, tuple[str, ...]]  # path prefix -> identities allowed
    ref_pattern: str  # allowed ref names (regex on the full ref)
    guard: bool = False  # pre-receive refuses pushes while the CI spool cannot be written
    pusher_variable: str = ""  # where the git server names the authenticated pusher


@dataclass(frozen=True)
class Settings:
    file: str
    default_branch: str
    trigger_branches: tuple[str, ...]
    promote_branches: tuple[str, ...]
    build_tags: bool
    global_paths: tuple[str, ...]
    promotion_paths: tuple[str, ...]
    executor: str
    executor_command: tuple[str, ...]
    registry: Registry
    ca_bundle: str | None
    base_recipe: str
    environments: tuple[Environment, ...]
    jenkins: Jenkins
    policy: Policy

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.environments)
        raise Refusal(f"unknown environment {name!r} (known: {known})")

    def previous_environment(self, name: str) -> Environment | None:
        names = [e.name for e in self.environments]
        index = names.index(self.environment(name).name)
        return self.environments[index - 1] if index else None

    def triggers(self, branch: str) -> bool:
        return any(fnmatch.fnmatchcase(branch, p) for p in self.trigger_branches)

    def may_promote(self, branch: str) -> bool:
        return any(fnmatch.fnmatchcase(branch, p) for p in self.promote_branches)


@dataclass(frozen=True)
class Integration:
    needs: tuple[str, ...]  # services started beside this one
    health: str  # "grpc" or an HTTP path such as "/readyz"
    env: Mapping[str, str]  # extra container env; "{dep.address}" placeholders
    tests: str  # directory of the integration tests
    test_env: Mapping[str, str]  # env for the tests; "{self.address}" placeholders
    timeout: float


@dataclass(frozen=True)
class Performance:
    kind: str  # "grpc" or "http"
    target: str  # gRPC method or HTTP path
    payload: str  # request body (JSON) for the load
    duration_s: float
    max_requests: int
    concurrency: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    min_rps: float | None
    regression_pct: float


@dataclass(frozen=True)
class Pipeline:
    file: str
    name: str
    paths: tuple[str, ...]
    dependencies: tuple[str, ...]
    dockerfile: str
    image: str  # repository name inside the registry
    port: int  # the port the container listens on (containerPort)
    npm_inputs: tuple[str, ...]  # registry packages put into the build context
    unit_tests: str
    integration: Integration
    performance: Performance
    labels: Mapping[str, str] = field(default_factory=dict)
    # label -> "<build target>:<file in that target>": a value read from an earlier stage
    computed_labels: Mapping[str, str] = field(default_factory=dict)

    def source_paths(self, settings: Settings) -> tuple[str, ...]:
        """Everything the image is built from, in a stable order."""
        return (*self.paths, *self.dependencies, *settings.global_paths)


@dataclass(frozen=True)
class Config:
    settings: Settings
    pipelines: Mapping[str, Pipeline]

    def in_dependency_order(self, names: Iterable[str]) -> list[str]:
        """`names` sorted so every service comes after the services it needs (then by name):
        the order to build, test and promote them in."""
        wanted, ordered = set(names), []
        done: set[str] = set()

        def visit(name: str) -> None:
            if name in done:
                return
            done.add(name)
            for needed in sorted(self.pipelines[name].integration.needs):
                visit(needed)
            if name in wanted:
                ordered.append(name)

        for name in sorted(wanted):
            if name in self.pipelines:
                visit(name)
        return ordered + sorted(wanted - set(ordered))

    def pipeline(self, name: str) -> Pipeline:
        if not SERVICE_NAME.match(name or ""):
            raise Refusal(f"not a service name: {name!r}")
        try:
            return self.pipelines[name]
        except KeyError:
            known = ", ".join(sorted(self.pipelines)) or "none"
            raise Refusal(f"unknown service {name!r} (known: {known})") from None


# ---------------------------------------------------------------- loading


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

