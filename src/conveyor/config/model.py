"""The configuration as frozen dataclasses: settings, environments, pipelines, the Config.

`config.loader` makes them from conveyor.toml and pipelines/*.toml (through `config.schema`'s
checks); errors name the file and the key.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from conveyor.errors import ConfigError as BaseConfigError
from conveyor.errors import Refusal

SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
STAGE_NAMES = ("build", "unit", "integration", "performance")


class ConfigError(BaseConfigError):
    def __init__(self, file: str, key: str, message: str) -> None:
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


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
