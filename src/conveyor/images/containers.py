"""Start service containers on the host network and wait until they are healthy.

Used by the integration and performance stages and by the local Docker deployer. Every
container listens on 127.0.0.1 and carries `conveyor.*` labels, among them this instance's
(`instance.LABEL`), so nothing is left behind unnoticed and `remove_labelled` only ever
removes what this instance made.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import docker.errors
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conveyor.errors import ConveyorError, Retryable
from conveyor.images import engine, instance

# re-exported: the stages, the deployer and the tests pick container ports here (one definition)
from conveyor.util.net import free_port as free_port
from conveyor.util.wait import Timeout, wait_until

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Running:
    name: str
    container_id: str
    image: str
    address: str  # host:port on 127.0.0.1


def port_is_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port (or on every address at that port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR: connections a stopped server left in TIME_WAIT do not hold the port,
        # a listener does (Linux refuses the bind then)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def start(
    image: str,
    name: str,
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    restart: bool = False,
) -> Running:
    """Run `image` (by digest) detached on the host network, listening on 127.0.0.1:port.

    The service learns where to listen from HOST and PORT in its environment. `restart`:
    the daemon restarts it after a crash or its own restart (deployed services).
    """
    remove(name)
    environment = {"HOST": HOST, "PORT": str(port), **(env or {})}
    policy = {"Name": "unless-stopped"} if restart else None
    try:
        container = engine.client().containers.run(
            image, command=list(command) if command else None, name=name, detach=True,
            network_mode="host", environment=environment,
            labels={**dict(labels or {}), **instance.labels()},
            init=True, stop_signal="SIGTERM", restart_policy=policy,
        )
    except docker.errors.ImageNotFound:
        raise ConveyorError(f"image {image} is not on this machine or in the registry") from None
    except docker.errors.APIError as exc:
        raise Retryable(f"docker could not start {name}: {exc.explanation}") from None
    return Running(name, container.id, image, f"{HOST}:{port}")


def wait_healthy(running: Running, health: str, timeout: float = 60.0) -> None:
    """Poll the health check ("grpc" or an HTTP path) until it passes; fail with the logs
    (the first line of the error says what happened, the container's log tail follows)."""
    last_error = "no answer yet"

    def healthy() -> bool:
        nonlocal last_error
        if not is_running(running.name):
            raise ConveyorError(f"{running.name} exited before it was healthy:\n"
                                f"{logs(running.name, tail=20)}")
        try:
            if is_healthy(running.address, health):
                return True
            last_error = "answered, but not serving"
        except OSError as exc:
            last_error = str(exc)
        return False

    try:
        wait_until(healthy, timeout, interval=0.25, what=running.name)
    except Timeout:
        raise ConveyorError(f"{running.name} not healthy after {timeout:g}s ({last_error}):\n"
                            f"{logs(running.name, tail=20)}") from None


def is_healthy(address: str, health: str, timeout: float = 2.0) -> bool:
    if health == "grpc":
        with grpc.insecure_channel(address) as channel:
            try:
                answer = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=timeout)
            except grpc.RpcError as exc:
                raise OSError(f"grpc health: {exc.code().name}") from None
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
    try:
        with urllib.request.urlopen(f"http://{address}{health}", timeout=timeout) as response:
            return bool(200 <= response.status < 300)
    except urllib.error.HTTPError:
        return False


def is_running(name: str) -> bool:
    try:
        container = engine.client().containers.get(name)
    except docker.errors.NotFound:
        return False
    return bool(container.status in ("created", "running"))


def logs(name: str, tail: int = 200) -> str:
    try:
        raw: bytes = engine.client().containers.get(name).logs(tail=tail)
    except docker.errors.NotFound:
        return "(container gone)"
    return raw.decode("utf-8", "replace")


def is_mine(container: object) -> bool:
    """The container was made by this instance (its label says so)."""
    found = (getattr(container, "labels", None) or {}).get(instance.LABEL)
    return bool(found == instance.instance_id())


def remove(name: str) -> None:
    """Stop (SIGTERM, then SIGKILL after 10 s) and remove a container; absent is fine.

    Another instance's container is never touched: that is an error, not a removal.
    """
    try:
        container = engine.client().containers.get(name)
    except docker.errors.NotFound:
        return
    if not is_mine(container):
        owner = (container.labels or {}).get("conveyor.home", "another program")
        raise ConveyorError(f"container {name} belongs to {owner}, not to this Conveyor "
                            f"instance ({instance.instance_id()}); leaving it alone")
    try:
        container.stop(timeout=10)
    except docker.errors.APIError:
        pass
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass


def remove_labelled(labels: Mapping[str, str]) -> list[str]:
    """Remove every container of this instance carrying all of `labels`; their names."""
    mine = {**labels, instance.LABEL: instance.instance_id()}
    filters = {"label": [f"{k}={v}" for k, v in mine.items()]}
    removed = []
    for container in engine.client().containers.list(all=True, filters=filters):
        remove(container.name)
        removed.append(container.name)
    return removed
