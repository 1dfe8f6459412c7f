"""Settings read once from the environment into a frozen dataclass; errors name the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    backend_addr: str  # host:port of password-strength
    backend_tls_ca: Path | None  # PEM roots for TLS to the backend; None means plaintext
    deadline_s: float  # per Evaluate call
    batch_deadline_s: float  # per EvaluateBatch call (up to 1,000 passwords)
    readiness_deadline_s: float  # per health check made by /readyz
    shutdown_timeout_s: float  # how long SIGTERM waits for in-flight requests
    connections: int = 4  # HTTP/2 connections to the backend; calls take turns


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    addr = env.get("PASSWORD_STRENGTH_ADDR", "").strip()
    if not addr or ":" not in addr:
        raise ConfigError("PASSWORD_STRENGTH_ADDR must be host:port of the password-strength "
                          f"service (got {addr!r})")
    ca = env.get("PASSWORD_STRENGTH_TLS_CA", "").strip()
    if ca and not Path(ca).is_file():
        raise ConfigError(f"PASSWORD_STRENGTH_TLS_CA: no such file {ca!r}")
    return Settings(
        host=env.get("HOST", "127.0.0.1").strip() or "127.0.0.1",
        port=_port(env.get("PORT", "8080")),
        backend_addr=addr,
        backend_tls_ca=Path(ca) if ca else None,
        deadline_s=_millis(env, "PASSWORD_STRENGTH_DEADLINE_MS", 2000),
        batch_deadline_s=_millis(env, "PASSWORD_STRENGTH_BATCH_DEADLINE_MS", 15000),
        readiness_deadline_s=_millis(env, "READINESS_DEADLINE_MS", 1000),
        shutdown_timeout_s=_millis(env, "SHUTDOWN_TIMEOUT_MS", 10000),
        connections=_count(env, "PASSWORD_STRENGTH_CONNECTIONS", 4),
    )


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer (got {raw!r})") from None
    if not 1 <= value <= 64:
        raise ConfigError(f"{name} must be 1..64 (got {value})")
    return value


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"PORT must be an integer (got {raw!r})") from None
    if not 0 < port < 65536:
        raise ConfigError(f"PORT out of range (got {port})")
    return port


def _millis(env: Mapping[str, str], name: str, default: int) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default / 1000
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer number of milliseconds (got {raw!r})") \
            from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive (got {value})")
    return value / 1000
