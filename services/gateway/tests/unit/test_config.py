"""Settings from the environment: defaults, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, from_env


def test_defaults() -> None:
    settings = from_env({"PASSWORD_STRENGTH_ADDR": "127.0.0.1:50051"})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.backend_addr == "127.0.0.1:50051"
    assert settings.backend_tls_ca is None
    assert settings.deadline_s == 2.0 and settings.batch_deadline_s == 15.0


def test_every_setting_is_read(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("roots")
    settings = from_env({
        "HOST": "0.0.0.0", "PORT": "9000", "PASSWORD_STRENGTH_ADDR": "ps:443",
        "PASSWORD_STRENGTH_TLS_CA": str(ca), "PASSWORD_STRENGTH_DEADLINE_MS": "250",
        "PASSWORD_STRENGTH_BATCH_DEADLINE_MS": "4000", "READINESS_DEADLINE_MS": "300",
        "SHUTDOWN_TIMEOUT_MS": "5000"})
    assert (settings.host, settings.port, settings.backend_tls_ca) == ("0.0.0.0", 9000, ca)
    assert (settings.deadline_s, settings.batch_deadline_s) == (0.25, 4.0)
    assert (settings.readiness_deadline_s, settings.shutdown_timeout_s) == (0.3, 5.0)


@pytest.mark.parametrize(("env", "named"), [
    ({}, "PASSWORD_STRENGTH_ADDR"),
    ({"PASSWORD_STRENGTH_ADDR": "no-port"}, "PASSWORD_STRENGTH_ADDR"),
    ({"PORT": "http"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"PASSWORD_STRENGTH_DEADLINE_MS": "1.5s"}, "PASSWORD_STRENGTH_DEADLINE_MS"),
    ({"PASSWORD_STRENGTH_DEADLINE_MS": "0"}, "PASSWORD_STRENGTH_DEADLINE_MS"),
    ({"PASSWORD_STRENGTH_TLS_CA": "/nonexistent/ca.pem"}, "PASSWORD_STRENGTH_TLS_CA"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    env = {"PASSWORD_STRENGTH_ADDR": "127.0.0.1:1", **env} if named != "PASSWORD_STRENGTH_ADDR" \
        else env
    with pytest.raises(ConfigError, match=named):
        from_env(env)


def test_connections_to_the_backend() -> None:
    base = {"PASSWORD_STRENGTH_ADDR": "127.0.0.1:50051"}
    assert from_env(base).connections == 4
    assert from_env({**base, "PASSWORD_STRENGTH_CONNECTIONS": "2"}).connections == 2
    for bad in ("0", "x", "65"):
        with pytest.raises(ConfigError, match="PASSWORD_STRENGTH_CONNECTIONS"):
            from_env({**base, "PASSWORD_STRENGTH_CONNECTIONS": bad})
