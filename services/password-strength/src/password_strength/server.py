"""Run the service: `python -m password_strength.server` (settings from the environment).

Health (grpc.health.v1) and reflection are served next to PasswordStrength. SIGTERM/SIGINT
drain: health turns NOT_SERVING first, so balancers stop sending, then in-flight calls get
GRACE_SECONDS to finish. With PROCESSES > 1 (default: one per core) that many server processes
share the port and the parent forwards the signal to each.

Load shedding: each process admits at most MAX_IN_FLIGHT calls at a time; gRPC refuses the
next one at once with RESOURCE_EXHAUSTED ("Concurrent RPC limit exceeded!") before it is
queued, so under overload admitted calls keep their latency and the rest can retry elsewhere.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from password_strength import logs, processes, service, settings, stubs
from password_strength import model as model_file
from password_strength.estimator import Estimator

log = logging.getLogger("password_strength")


@dataclass
class Running:
    server: grpc.Server
    health: health.HealthServicer
    port: int

    def drain(self, grace: float) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def start(config: settings.Settings, estimator: Estimator, reuse_port: bool = False) -> Running:
    pb2, _ = stubs.load()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=config.workers),
                         options=[("grpc.so_reuseport", int(reuse_port))],
                         maximum_concurrent_rpcs=config.max_in_flight)
    servicer = service.PasswordStrengthService(estimator, pb2, service.info(config,
                                                                           estimator.model))
    server.add_generic_rpc_handlers((service.handler(servicer),))
    checker = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    reflection.enable_server_reflection(
        (service.SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = _bind(server, config)
    server.start()
    for name in ("", service.SERVICE_NAME):
        checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    return Running(server=server, health=checker, port=port)


def _bind(server: grpc.Server, config: settings.Settings) -> int:
    if config.uses_tls:
        assert config.tls_cert_file is not None and config.tls_key_file is not None
        client_ca = (config.tls_client_ca_file.read_bytes()
                     if config.tls_client_ca_file else None)
        credentials = grpc.ssl_server_credentials(
            [(config.tls_key_file.read_bytes(), config.tls_cert_file.read_bytes())],
            root_certificates=client_ca, require_client_auth=client_ca is not None)
        port = server.add_secure_port(config.address, credentials)
    else:
        port = server.add_insecure_port(config.address)
    if port == 0:
        raise OSError(f"cannot listen on {config.address}")
    return port


def serve(config: settings.Settings, learned: model_file.Model, reuse_port: bool,
          ready: Callable[[], None] = lambda: None) -> int:
    """Serve in this process until SIGTERM/SIGINT, then drain; returns the exit code."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    running = start(config, Estimator(learned), reuse_port)
    log.info("serving", extra={"fields": {
        "service": service.SERVICE_NAME, "address": f"{config.host}:{running.port}",
        "tls": config.uses_tls, "model_sha256": learned.sha256,
        "max_in_flight": config.max_in_flight, "workers": config.workers}})
    ready()
    stop.wait()
    log.info("draining", extra={"fields": {"grace_seconds": config.grace_seconds}})
    running.drain(config.grace_seconds)
    log.info("stopped")
    return 0


def serve_group(config: settings.Settings, learned: model_file.Model) -> int:
    """PROCESSES forked servers on one port; the parent forwards SIGTERM and waits."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def child(port: int, ready: Callable[[], None]) -> int:
        return serve(dataclasses.replace(config, port=port), learned, True, ready)

    stubs.load()  # once, before forking: on a host the children would race to generate them

    try:
        group = processes.ServerGroup(config.host, config.port, config.processes, child)
    except RuntimeError as exc:
        log.error("%s", exc)
        return 1
    log.info("started", extra={"fields": {"processes": group.pids, "port": group.port}})
    while not stop.is_set():
        if group.wait_any(timeout=0.5) and not stop.is_set():
            log.error("a server process exited; stopping the others")
            group.stop(config.grace_seconds)
            return 1
    return group.stop(config.grace_seconds)


def main() -> int:
    logs.configure()
    try:
        config = settings.from_env()
        logs.configure(config.log_level)
        learned = model_file.load(config.model_path)
    except (settings.SettingsError, model_file.ModelError) as exc:
        log.error("%s", exc)
        return 2
    if config.processes == 1:
        return serve(config, learned, reuse_port=False)
    return serve_group(config, learned)


if __name__ == "__main__":
    raise SystemExit(main())
