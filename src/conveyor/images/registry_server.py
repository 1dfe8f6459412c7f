"""The embedded registry: Docker's distribution registry (`docker-registry`) run by Conveyor.

Not a system service: our own config file, data under the state directory, listening on
127.0.0.1 only, a pid file, started on demand and waited for until `/v2/` answers.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

from conveyor import state
from conveyor.errors import ConfigError, ConveyorError, Refusal, Retryable
from conveyor.images.registry import Client
from conveyor.util import locks, net, proc
from conveyor.util.wait import Timeout, wait_until

BINARY = "/usr/bin/docker-registry"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Server:
    address: str  # 127.0.0.1:port (a loopback IPv4 address)
    directory: Path  # config, data, pid file and log live here

    @property
    def config_file(self) -> Path:
        return self.directory / "config.yml"

    @property
    def pid_file(self) -> Path:
        return self.directory / "registry.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / "registry.log"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def pid(self) -> int | None:
        """The pid from the pid file, if that process is our registry and still alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if str(self.config_file).encode() in cmdline else None


def server(address: str, directory: Path | None = None) -> Server:
    host, _, port = address.rpartition(":")
    # IPv4 loopback only: the port probe and the clients' URLs take a bare IPv4 host
    if not net.is_loopback(host) or host.startswith("[") or not port.isdigit():
        raise ConfigError(f"the embedded registry listens on 127.0.0.1 only (or another "
                          f"loopback IPv4 address), not {address!r}")
    listen = "127.0.0.1" if host.lower() == "localhost" else host
    return Server(f"{listen}:{port}", directory or state.subdir("registry"))


def _write_config(srv: Server, readonly: bool) -> None:
    config = {  # JSON is YAML
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(srv.data_dir)},
            "delete": {"enabled": True},
            "maintenance": {"readonly": {"enabled": readonly},
                            "uploadpurging": {"enabled": False}},
        },
        "http": {"addr": srv.address, "secret": secrets.token_hex(16),
                 "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }
    srv.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = srv.config_file.with_suffix(".tmp")
    temp.write_text(json.dumps(config, indent=2))
    os.replace(temp, srv.config_file)


def start(address: str, directory: Path | None = None, *, readonly: bool = False) -> Server:
    """Start this instance's registry unless it already runs; wait until `/v2/` answers.

    Something else answering on the address (another instance's registry, any program) is
    an error: adopting it would push this instance's images into storage it does not own.
    """
    srv = server(address, directory)
    client = Client(srv.address)
    with locks.hold(srv.directory / "start.lock"):
        if srv.pid() is not None and client.is_up():
            return srv
        if client.is_up() or not _port_free(srv.address):
            raise ConveyorError(
                f"{srv.address} is already in use by something that is not this instance's "
                f"registry (data in {srv.directory}); stop that, or set [registry] address to a "
                "free port, or embedded = false to use it as an external registry")
        if not Path(BINARY).is_file():
            raise Refusal(f"{BINARY} is missing (apt-get install docker-registry)")
        _write_config(srv, readonly)
        pid = proc.start_detached([BINARY, "serve", str(srv.config_file)], srv.log_file)
        srv.pid_file.write_text(f"{pid}\n")

        def answers() -> bool:
            if proc.has_exited(pid):
                tail = srv.log_file.read_text(errors="replace").splitlines()[-5:]
                raise ConveyorError("the registry exited at start:\n" + "\n".join(tail))
            return client.is_up()

        try:
            wait_until(answers, START_TIMEOUT, what=f"the registry on {srv.address}")
        except Timeout:
            stop(srv.address, srv.directory)
            raise Retryable(f"the registry did not answer on {srv.address} within "
                            f"{START_TIMEOUT:g}s") from None
        return srv


def _port_free(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, int(port)))
        except OSError:
            return False
        return True


def ensure_running(address: str, directory: Path | None = None) -> Server:
    """For builds and pulls: the configured registry must already answer. It is never started
    here, so a registry the operator stopped stays stopped (`conveyor registry start` and the
    demo start it; `start` refuses an address someone else holds)."""
    srv = server(address, directory)
    if Client(srv.address).is_up():
        return srv
    raise Retryable(f"the embedded registry on {srv.address} is not running; start it with "
                    "`conveyor registry start`")


def stop(address: str, directory: Path | None = None) -> bool:
    """Stop the registry we started (by its pid file); False when none was running."""
    srv = server(address, directory)
    pid = srv.pid()
    if pid is None:
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        try:  # has_exited reaps it when this process started it
            wait_until(lambda: proc.has_exited(pid) or srv.pid() is None, STOP_TIMEOUT,
                       interval=0.05, what=f"the registry (pid {pid})")
            break
        except Timeout:
            continue
    srv.pid_file.unlink(missing_ok=True)
    return True


def status(address: str, directory: Path | None = None) -> dict[str, object]:
    srv = server(address, directory)
    return {"address": srv.address, "pid": srv.pid(), "answering": Client(srv.address).is_up(),
            "directory": str(srv.directory)}
