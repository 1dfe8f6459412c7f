"""Apply a rendered overlay: `kubectl apply -k` to a cluster, or the local Docker deployer.

The local deployer runs what the rendered Deployment says (image by digest, command, args,
env from its ConfigMaps, port, readiness probe) as one container per service on the host
network, at `port_base + a stable per-service offset` of the environment. Replace-then-verify:
the new container first proves healthy under a temporary name and port; only then is the
old one swapped out, and if the swap fails the old container is put back.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors

from conveyor.config.model import Config, Environment, Pipeline
from conveyor.errors import ConfigError, ConveyorError, Refusal
from conveyor.images import builder as images
from conveyor.images import containers, engine, instance, registry
from conveyor.promotion import overlays
from conveyor.util import proc
from conveyor.util.progress import Progress

ROLLOUT_TIMEOUT = 300.0
HEALTH_TIMEOUT = 60.0
OFFSET_SLOTS = 500


@dataclass(frozen=True)
class Plan:
    service: str
    environment: str
    image: str  # registry/repository@sha256:...
    digest: str | None
    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    health: str = "/healthz"  # "grpc" or an HTTP path
    replicas: int = 1
    namespace: str | None = None


def container_name(environment: str, service: str) -> str:
    """Per instance: two Conveyor homes on one daemon never replace each other's services."""
    return f"conveyor-{instance.instance_id()}-{environment}-{service}"


def offsets(config: Config) -> dict[str, int]:
    """A stable offset per service: a hash of its name, probing past collisions."""
    taken: dict[str, int] = {}
    used: set[int] = set()
    for name in sorted(config.pipelines):
        slot = zlib.crc32(name.encode()) % OFFSET_SLOTS
        while slot in used:
            slot = (slot + 1) % OFFSET_SLOTS
        used.add(slot)
        taken[name] = slot
    return taken


def port(config: Config, environment: str, service: str) -> int:
    return config.settings.environment(environment).port_base + offsets(config)[service]


def address(config: Config, environment: str, service: str) -> str:
    return f"{containers.HOST}:{port(config, environment, service)}"


def plan(config: Config, environment: str, pipeline: Pipeline,
         documents: list[dict[str, Any]]) -> Plan:
    """What the rendered Deployment of `pipeline` asks to run, made concrete for this host."""
    deployment = overlays.find(documents, "Deployment", pipeline.name)
    if deployment is None:
        raise ConfigError(f"k8s/overlays/{environment} renders no Deployment {pipeline.name}")
    spec = deployment["spec"]
    container = spec["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = (source.get("configMapRef") or {}).get("name")
        config_map = overlays.find(documents, "ConfigMap", ref) if ref else None
        if config_map is not None:
            env.update({k: str(v) for k, v in (config_map.get("data") or {}).items()})
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
    for reserved in ("HOST", "PORT"):  # the deployer decides where the service listens
        env.pop(reserved, None)
    env = {k: rewrite_addresses(v, config, environment, documents) for k, v in env.items()}
    probe = container.get("readinessProbe") or {}
    health = "grpc" if "grpc" in probe else (probe.get("httpGet") or {}).get("path", "/healthz")
    image = str(container["image"])
    digest = image.split("@", 1)[1] if "@" in image else None
    return Plan(
        service=pipeline.name, environment=environment, image=image, digest=digest,
        command=tuple(container.get("command") or ()) + tuple(container.get("args") or ()),
        env=env, health=health, replicas=int(spec.get("replicas") or 1),
        namespace=(deployment.get("metadata") or {}).get("namespace"),
    )


def rewrite_addresses(value: str, config: Config, environment: str,
                      documents: list[dict[str, Any]]) -> str:
    """`password-strength:50051` (a Service name and port) -> that service's local address."""
    for service in config.pipelines:
        svc = overlays.find(documents, "Service", service)
        ports = [p.get("port") for p in ((svc or {}).get("spec") or {}).get("ports") or []]
        for service_port in ports or [config.pipelines[service].port]:
            pattern = rf"(?<![\w.-]){re.escape(service)}(?:\.[\w.-]+)?:{service_port}(?!\d)"
            value = re.sub(pattern, address(config, environment, service), value)
    return value


def labels(plan_: Plan) -> dict[str, str]:
    return {"conveyor.env": plan_.environment, "conveyor.service": plan_.service,
            "conveyor.digest": plan_.digest or ""}


# ---------------------------------------------------------------- local Docker deployer


def prepare(config: Config, env: Environment, plan_: Plan, progress: Progress = print) -> None:
    """Before anything is published: the image is here (pulled by digest) and starts healthy."""
    if plan_.digest is None:
        raise ConveyorError(f"{plan_.service}: the overlay pins no digest for {env.name}")
    if env.cluster_context:
        pipeline = config.pipeline(plan_.service)
        if not registry.Client.from_settings(config.settings.registry).has_digest(
                pipeline.image, plan_.digest):
            raise Refusal(f"{plan_.image} is not in the registry")
        return
    images.ensure_image(plan_.image)
    trial = containers.start(plan_.image, container_name(env.name, plan_.service) + "-next",
                             containers.free_port(), env=plan_.env, command=plan_.command or None,
                             labels={**labels(plan_), "conveyor.role": "trial"})
    try:
        containers.wait_healthy(trial, plan_.health, timeout=HEALTH_TIMEOUT)
    finally:
        containers.remove(trial.name)
    if plan_.replicas > 1:
        progress(f"{env.name}: {plan_.service} asks for {plan_.replicas} replicas; "
                 "the local deployer runs 1 container")


def apply(config: Config, env: Environment, plan_: Plan, root: Path,
          progress: Progress = print) -> str:
    """Make the environment run `plan_`; returns the address (or cluster namespace) serving."""
    if env.cluster_context:
        return _apply_cluster(env, plan_, root)
    return swap(config, env, plan_)


def swap(config: Config, env: Environment, plan_: Plan) -> str:
    name = container_name(env.name, plan_.service)
    listen = port(config, env.name, plan_.service)
    client = engine.client()
    old = _get(name)
    parked = f"{name}-previous"
    if old is not None:
        containers.remove(parked)
        old.stop(timeout=10)
        old.rename(parked)
    try:
        if not containers.port_is_free(listen):
            # someone else's process or container: a clear error, never a quiet share
            raise ConveyorError(f"{env.name}: port {listen} for {plan_.service} is held by "
                                "something that is not this Conveyor instance's container; "
                                "free it or change environments."
                                f"{env.name}.port_base in conveyor.toml")
        running = containers.start(plan_.image, name, listen, env=plan_.env,
                                   command=plan_.command or None, labels=labels(plan_),
                                   restart=True)
        containers.wait_healthy(running, plan_.health, timeout=HEALTH_TIMEOUT)
    except BaseException:
        containers.remove(name)
        if old is not None:
            restored = client.containers.get(parked)
            restored.rename(name)
            restored.start()
        raise
    if old is not None:
        containers.remove(parked)
    return running.address


def remove(env: Environment, service: str) -> None:
    """Stop serving `service` in `env` (a first promotion that was rolled back)."""
    if not env.cluster_context:
        containers.remove(container_name(env.name, service))


def _get(name: str) -> Any:
    try:
        return engine.client().containers.get(name)
    except docker.errors.NotFound:
        return None


def running_digest(config: Config, env: Environment, pipeline: Pipeline) -> str | None:
    """The digest the environment actually runs (image first, label last), or None."""
    if env.cluster_context:
        return _cluster_digest(env, pipeline)
    container = _get(container_name(env.name, pipeline.name))
    if container is None or container.status not in ("running", "created", "restarting"):
        return None
    image = str(container.attrs.get("Config", {}).get("Image", ""))
    if "@sha256:" in image:
        return image.split("@", 1)[1]
    try:
        repo_digests = container.image.attrs.get("RepoDigests") or []
    except docker.errors.ImageNotFound:
        repo_digests = []
    wanted = overlays.new_name(config.settings, pipeline)
    for entry in sorted(repo_digests, key=lambda e: not e.startswith(wanted + "@")):
        return str(entry.split("@", 1)[1])
    label = (container.labels or {}).get("conveyor.digest")
    return str(label) if label else None


# ---------------------------------------------------------------- a real cluster


def _kubectl(env: Environment, *args: str, timeout: float = ROLLOUT_TIMEOUT) -> proc.Result:
    assert env.cluster_context
    return proc.run(["kubectl", "--context", env.cluster_context, *args], timeout=timeout)


def _apply_cluster(env: Environment, plan_: Plan, root: Path) -> str:
    folder = os.fspath(root / overlays.OVERLAYS / env.name)
    _kubectl(env, "apply", "-k", folder, timeout=120)
    namespace = ["-n", plan_.namespace] if plan_.namespace else []
    _kubectl(env, *namespace, "rollout", "status", f"deployment/{plan_.service}",
             f"--timeout={int(ROLLOUT_TIMEOUT)}s", timeout=ROLLOUT_TIMEOUT + 30)
    return f"{env.cluster_context}/{plan_.namespace or 'default'}"


def _cluster_digest(env: Environment, pipeline: Pipeline) -> str | None:
    result = proc.run(["kubectl", "--context", env.cluster_context or "", "-n",
                       f"conveyor-{env.name}", "get", "pods", "-l",
                       f"app.kubernetes.io/name={pipeline.name}", "-o",
                       "jsonpath={.items[*].status.containerStatuses[*].imageID}"],
                      timeout=30, check=False)
    ids = [i for i in result.text().split() if "@sha256:" in i]
    return ids[0].split("@", 1)[1] if result.ok and ids else None
