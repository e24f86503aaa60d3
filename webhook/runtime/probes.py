"""``resolve --probe``: does each backend answer as the host's client would need it to?

- Redis: ``AUTH`` with the URL's user and password when it has them (a wrong password
  fails the probe), then ``PING``; ``rediss://`` over TLS.
- NATS: the server must greet with ``INFO``; ``CONNECT`` carries the URL's user and
  password or token; ``PING`` must get ``PONG`` (an auth error fails the probe). For
  key-value and blob store backends, JetStream must answer ``$JS.API.INFO``: the
  host's NATS backends open JetStream buckets. In a server list, the first server
  that passes is enough, as the client would connect to it.
- filesystem: the root directory exists on the machine that runs the probe (the host
  reads its own filesystem, so run the probe where the host runs).

A URL the backend's client would refuse (the ``backend-config-invalid`` check) is not
probed: a server answering it would say nothing about the host, which cannot connect.
A name that does not resolve and looks like a cluster DNS name (``redis``,
``nats.apps.svc``) says so: such names resolve only inside the cluster.

All routes are probed at once, under one deadline (``--timeout``); every read and
write waits at most what is left of it, so a server that trickles bytes cannot hold
the run. A probe's failure is reported on its route, never raised; details never
carry config values.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from webhook.runtime.routes import Route
from webhook.runtime.urls import BadUrl, Url, parse_urls, url_problem
from webhook.text import shown

DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "nats": 4222, "tls": 4222}
_JETSTREAM_PACKAGES = {"keyvalue", "blobstore"}
GREETING_WAIT = 2.0
"""Seconds a NATS server has to send its INFO greeting (it sends it on connect)."""


class ProbeFailed(Exception):
    """Why a backend did not answer as needed; the message never carries config values."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    detail: str


class Deadline:
    """What is left of one overall time budget."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise ProbeFailed("no answer before the deadline (--timeout)")
        return remaining


def probe_all(routes: Sequence[Route], timeout: float) -> list[ProbeResult | None]:
    """One result per route (``None`` where there is nothing to probe), all at once."""
    deadline = Deadline(timeout)
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(routes)))) as pool:
        futures = [pool.submit(_probe_safely, route, deadline) for route in routes]
        return [f.result() for f in futures]


def _probe_safely(route: Route, deadline: Deadline) -> ProbeResult | None:
    try:
        return probe(route, deadline)
    except ProbeFailed as exc:
        return ProbeResult(False, str(exc))
    except Exception as exc:  # a probe must never take the run down
        return ProbeResult(False, f"probe failed: {type(exc).__name__}")


def probe(route: Route, deadline: Deadline) -> ProbeResult | None:
    backend = route.backend
    config = route.entry.config
    if backend == "filesystem":
        if Path(config.get("root", "")).is_dir():
            return ProbeResult(True, "root directory exists on this machine")
        return ProbeResult(
            False, "root directory does not exist on this machine (the host reads its own: "
            "probe from the host's pod)",
        )  # fmt: skip
    if backend == "in-memory":
        return ProbeResult(True, "in-memory, nothing to reach")
    if backend not in ("redis", "nats"):
        return None
    text = config.get("url", "")
    why = url_problem(text, route.url_rule) if route.url_rule is not None and text else None
    if why is not None:
        raise ProbeFailed(f"not probed: the host's client cannot use config.url: {why}")
    try:
        urls = parse_urls(text)
    except BadUrl as exc:
        raise ProbeFailed(f"config.url: {exc}") from None
    if not urls:
        raise ProbeFailed("config.url is empty")
    talk = _redis if backend == "redis" else _nats
    jetstream = route.entry.package in _JETSTREAM_PACKAGES
    failures = []
    for url in urls:
        try:
            return ProbeResult(True, talk(url, deadline, jetstream))
        except ProbeFailed as exc:
            failures.append(str(exc))
    raise ProbeFailed("; ".join(failures))


class _Conn:
    """A socket whose every operation waits at most what is left of the deadline."""

    def __init__(self, url: Url, deadline: Deadline, tls: bool) -> None:
        port = url.port or DEFAULT_PORTS.get(url.scheme, 0)
        self.where = f"{shown(url.host)}:{port}"  # the host name is the user's: quoted clipped
        self.deadline = deadline
        try:
            raw = socket.create_connection((url.host, port), timeout=deadline.left())
        except OSError as exc:
            hint = _CLUSTER_DNS_HINT if _unresolved_cluster_name(exc, url.host) else ""
            raise ProbeFailed(f"unreachable: {self.where}: {_reason(exc)}{hint}") from None
        self.sock: socket.socket = raw
        if tls:
            try:
                raw.settimeout(deadline.left())
                self.sock = ssl.create_default_context().wrap_socket(raw, server_hostname=url.host)
            except (OSError, ssl.SSLError) as exc:
                raw.close()
                raise ProbeFailed(f"TLS failed: {self.where}: {_reason(exc)}") from None
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.settimeout(self.deadline.left())
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise ProbeFailed(f"{self.where}: {_reason(exc)}") from None

    def receive(self, wait: float | None = None) -> None:
        """Append what the server sends next; ``wait`` bounds this read more tightly
        than the deadline."""
        left = self.deadline.left()
        self.sock.settimeout(left if wait is None else min(left, wait))
        try:
            chunk = self.sock.recv(4096)
        except OSError as exc:
            raise ProbeFailed(f"{self.where}: {_reason(exc)}") from None
        if not chunk:
            raise ProbeFailed(f"{self.where}: the server closed the connection")
        self.buffer += chunk
        if len(self.buffer) > 1 << 20:
            raise ProbeFailed(f"{self.where}: reply too long")

    def line(self, wait: float | None = None) -> bytes:
        """The next line; ``wait`` bounds this read more tightly than the deadline."""
        while b"\r\n" not in self.buffer:
            self.receive(wait)
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def close(self) -> None:
        self.sock.close()


_CLUSTER_DNS_HINT = (
    "; it looks like a cluster DNS name, which resolves only inside the cluster: run the "
    "probe from a pod in the host's namespace"
)


def _unresolved_cluster_name(exc: OSError, host: str) -> bool:
    """A lookup failure for a single label (``redis``), ``x.ns.svc`` or ``x.cluster.local``."""
    if not isinstance(exc, socket.gaierror):
        return False
    name = host.lower().rstrip(".")
    single_label = "." not in name and name != "localhost"
    return single_label or name.endswith((".svc", ".svc.cluster.local", ".cluster.local"))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer before the deadline (--timeout)"
    return getattr(exc, "strerror", None) or type(exc).__name__


def _resp(*parts: str) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _redis(url: Url, deadline: Deadline, _: bool) -> str:
    conn = _Conn(url, deadline, tls=url.scheme == "rediss")
    try:
        if url.password is not None:
            auth = ("AUTH", url.user, url.password) if url.user else ("AUTH", url.password)
            conn.send(_resp(*auth))
            reply = conn.line()
            if not reply.startswith(b"+OK"):
                raise ProbeFailed(f"{conn.where}: authentication failed")
        conn.send(_resp("PING"))
        reply = conn.line()
        if reply.startswith(b"-NOAUTH"):
            raise ProbeFailed(f"{conn.where}: the server requires a password; put it in the URL")
        if not reply.startswith(b"+PONG"):
            raise ProbeFailed(f"{conn.where}: not a Redis answer to PING")
        return f"Redis answers at {conn.where}" + (" (authenticated)" if url.password else "")
    finally:
        conn.close()


def _nats(url: Url, deadline: Deadline, jetstream: bool) -> str:
    conn = _Conn(url, deadline, tls=url.scheme == "tls")
    try:
        try:  # a NATS server greets at once; silence means something else listens
            greeting = conn.line(wait=GREETING_WAIT)
        except ProbeFailed:
            greeting = b""
        if not greeting.startswith(b"INFO "):
            raise ProbeFailed(f"{conn.where}: not a NATS server (no INFO greeting)")
        connect: dict[str, object] = {
            "verbose": False, "pedantic": False, "name": "bindcheck-probe", "lang": "python",
            "protocol": 1, "headers": True, "no_responders": True,
        }  # fmt: skip
        if url.user is not None and url.password is not None:
            connect.update(user=url.user, **{"pass": url.password})
        elif url.password is not None:
            connect["auth_token"] = url.password
        conn.send(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        reply = _skip_info(conn)
        if reply.startswith(b"-ERR"):
            raise ProbeFailed(f"{conn.where}: the server refused the connection (authorization?)")
        if not reply.startswith(b"PONG"):
            raise ProbeFailed(f"{conn.where}: no PONG")
        if jetstream:
            _jetstream_info(conn)
        return f"NATS answers at {conn.where}" + (" with JetStream" if jetstream else "")
    finally:
        conn.close()


def _skip_info(conn: _Conn) -> bytes:
    while True:
        line = conn.line()
        if not line.startswith(b"INFO "):
            return line


def _jetstream_info(conn: _Conn) -> None:
    conn.send(b"SUB _INBOX.bindcheck 1\r\nPUB $JS.API.INFO _INBOX.bindcheck 0\r\n\r\nPING\r\n")
    while True:
        line = _skip_info(conn)
        if line.startswith(b"MSG "):
            size = int(line.rsplit(b" ", 1)[-1])
            body = _read_exactly(conn, size)
            reply = json.loads(body or b"{}")
            if "error" in reply:
                raise ProbeFailed(f"{conn.where}: JetStream refused ({reply['error'].get('code')})")
            return
        if line.startswith(b"HMSG "):
            raise ProbeFailed(f"{conn.where}: JetStream is not enabled (no responders)")
        if line.startswith(b"-ERR"):
            raise ProbeFailed(f"{conn.where}: the server refused the JetStream request")
        if line == b"PONG":
            continue


def _read_exactly(conn: _Conn, size: int) -> bytes:
    while len(conn.buffer) < size + 2:
        conn.receive()
    body, conn.buffer = conn.buffer[:size], conn.buffer[size + 2 :]
    return body
