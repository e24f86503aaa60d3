"""Opening real connections to resolved backends: Redis PING, NATS CONNECT+PING, local paths.

Probes report reachability only; they never send credentials anywhere but the
backend they belong to, and never print them.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

from webhook.runtime.routes import Route

DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "nats": 4222, "tls": 4222}


def probe(route: Route, timeout: float) -> tuple[bool, str]:
    """``(ok, detail)`` for one route; detail never contains config values."""
    backend = route.backend
    config = route.entry.config
    if backend == "redis":
        return _probe_url(config.get("url", ""), "redis", timeout, _redis_ping)
    if backend == "nats":
        return _probe_url(config.get("url", ""), "nats", timeout, _nats_ping)
    if backend == "filesystem":
        root = Path(config.get("root", ""))
        if root.is_dir():
            return True, "root directory exists"
        return False, "root directory does not exist"
    if backend == "in-memory":
        return True, "in-memory, nothing to reach"
    return True, "not probed (no network backend)"


def _probe_url(url: str, scheme: str, timeout: float, talk: object) -> tuple[bool, str]:
    parts = urlsplit(url)
    if parts.scheme not in (scheme, f"{scheme}s", "tls") or not parts.hostname:
        return False, f"unreachable: config.url is not a {scheme}:// URL"
    host, port = parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            assert callable(talk)
            talk(sock)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return False, f"unreachable: {host}:{port}: {reason or type(exc).__name__}"
    return True, f"reachable at {host}:{port}"


def _read_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ValueError("connection closed")
        data += chunk
        if len(data) > 65536:
            raise ValueError("reply too long")
    return data


def _redis_ping(sock: socket.socket) -> None:
    sock.sendall(b"*1\r\n$4\r\nPING\r\n")
    reply = _read_line(sock)
    # -NOAUTH still proves a Redis server answers; credentials are not sent by a probe.
    if not reply.startswith((b"+PONG", b"-NOAUTH")):
        raise ValueError(f"unexpected reply {reply[:40]!r}")


def _nats_ping(sock: socket.socket) -> None:
    info = _read_line(sock)
    if not info.startswith(b"INFO "):
        raise ValueError("not a NATS server (no INFO)")
    connect = {"verbose": False, "pedantic": False, "name": "bindcheck-probe", "lang": "python"}
    sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
    reply = _read_line(sock)
    if not reply.startswith(b"PONG"):
        raise ValueError(f"unexpected reply {reply[:40]!r}")
