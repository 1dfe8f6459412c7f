"""Run the service: `python -m password_strength.server` (settings from the environment).

Health (grpc.health.v1) and reflection are served next to PasswordStrength. SIGTERM/SIGINT
drain: health turns NOT_SERVING first, so balancers stop sending, then in-flight calls get
GRACE_SECONDS to finish.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from password_strength import model as model_file
from password_strength import service, settings, stubs
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


def start(config: settings.Settings, estimator: Estimator) -> Running:
    pb2, _ = stubs.load()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=config.workers),
                         options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers(
        (service.handler(service.PasswordStrengthService(estimator, pb2)),))
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


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = settings.from_env()
        learned = model_file.load(config.model_path)
    except (settings.SettingsError, model_file.ModelError) as exc:
        log.error("%s", exc)
        return 2
    running = start(config, Estimator(learned))
    log.info("serving %s on %s (%s, model %s)", service.SERVICE_NAME,
             f"{config.host}:{running.port}", "tls" if config.uses_tls else "plaintext",
             learned.sha256[:12])
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    log.info("draining for up to %gs", config.grace_seconds)
    running.drain(config.grace_seconds)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
