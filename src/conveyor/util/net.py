"""Addresses: is a host loopback (only loopback gets plain HTTP, load, an unauthenticated
page), and a free loopback port."""

from __future__ import annotations

import ipaddress
import socket


def is_loopback(host: str | None) -> bool:
    """True for `localhost` and any loopback IP (127.0.0.0/8, ::1), bracketed IPv6 included."""
    if not host:
        return False
    name = host.strip().lower()
    if name == "localhost":
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(address: str) -> str:
    """The host of `host:port` (IPv6 in brackets kept as such)."""
    if address.startswith("["):
        return address[: address.index("]") + 1] if "]" in address else address
    return address.rsplit(":", 1)[0] if ":" in address else address


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
