"""Connections as an attacker sees them: every byte and every second of a client is bounded.

uvicorn's httptools protocol, with what Go's net/http and the Kubernetes API server
give by default and uvicorn does not:

- header bytes per request (URL, header names and values, all together; 1 MiB like
  Go's ``DefaultMaxHeaderBytes``) and a header count, answered 431 and closed: an
  endless header stream or value never grows the server; a chunked body's framing and
  trailers count against the same bytes (and trailers against the count);
- a deadline for a whole request from its first byte (slowloris), and for the TLS
  handshake (silent sockets), close to the request timeout rather than asyncio's 60 s;
- at most ``max_pipelined`` requests queued behind the one being answered: a client
  that pipelines without reading gets a 503 and is closed, instead of the server
  queueing every request of each 256 KiB read with its body;
- requests in flight limited, answered 503 (JSON) past the limit; connections
  limited too, but never by refusing a new client: at the cap the idlest connection
  (idle keep-alive first, then the slowest unfinished request) is closed to make
  room, so a well-behaved client is served while idle or slow ones are open;
- uvicorn's own 400 answers as JSON, like every other answer.
"""

from __future__ import annotations

import asyncio
import json
import resource
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

if TYPE_CHECKING:  # cryptography loads only with --client-ca (webhook/tls_files.py)
    from webhook.client_trust import ClientTrust


@dataclass(frozen=True, slots=True)
class Limits:
    """Byte, count and time bounds for clients; see the module docstring."""

    request_timeout: float = 10.0
    handshake_timeout: float = 10.0
    keep_alive: float = 30.0
    max_header_bytes: int = 1024 * 1024
    max_headers: int = 100
    max_connections: int = 1000
    max_in_flight: int = 200
    max_pipelined: int = 16

    def __post_init__(self) -> None:
        for name in ("request_timeout", "handshake_timeout", "keep_alive"):
            if not 0 < getattr(self, name) <= 3600:
                raise ValueError(f"{name} must be between 0 and 3600 seconds")
        for name in (
            "max_header_bytes", "max_headers", "max_connections", "max_in_flight",
            "max_pipelined",
        ):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


def json_reply(status: int, error: str, message: str) -> bytes:
    """A whole HTTP/1.1 response with a JSON error body, closing the connection."""
    body = json.dumps({"error": error, "message": message}).encode()
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    """The answer past the in-flight limit: 503, JSON, retry soon."""
    body = b'{"error": "busy", "message": "too many requests in flight; retry"}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


PROBE_PATHS = frozenset({b"/healthz", b"/readyz"})
"""What kubelet's probes ask for, without a client certificate."""


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds of :class:`Limits`."""

    limits = Limits()
    trust: ClientTrust | None = None
    """With ``--client-ca``: the CAs a client certificate must come from now."""
    _deadline: asyncio.TimerHandle | None = None
    _header_bytes = 0
    _framing_bytes = 0
    _body_bytes = 0
    _header_count = 0
    _in_headers = True
    _refused = False
    _anonymous = False
    """With ``--client-ca``, a connection without a client certificate: probes only."""
    last_active = 0.0

    # Connection lifetime

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if self.trust is not None:
            ssl_object = transport.get_extra_info("ssl_object")
            peer = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            if peer is None:
                self._anonymous = True
            elif not self.trust.accepts(peer):  # a CA the client-CA file no longer holds
                transport.abort()
                return
        self.last_active = self.loop.time()
        self._arm()
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
        # uvicorn cancels its keep-alive timer only on a clean close; after a reset or a
        # TLS close without close_notify the timer would hold this protocol, its
        # transport and their buffers (about 50 KB on uvloop) for the keep-alive
        # timeout, so a client could park memory by opening and dropping connections.
        self._unset_keepalive_if_required()

    def _make_room(self) -> None:
        """Close the idlest other connection: idle between requests, else the one whose
        request has been arriving the longest."""
        others = [c for c in self.connections if c is not self and isinstance(c, GuardedProtocol)]
        idle = [c for c in others if c.idle]
        slow = [c for c in others if not c.idle and c._in_headers]
        for pool in (idle, slow):
            if pool:
                victim = min(pool, key=lambda c: c.last_active)
                victim.transport.close()
                return

    @property
    def idle(self) -> bool:
        """Between requests: nothing received of a next one, nothing being answered."""
        answering = self.cycle is not None and not self.cycle.response_complete
        return not answering and self._header_bytes == 0

    # Bytes in

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self.last_active = self.loop.time()
        if self._deadline is None:
            self._arm()
        if self._in_headers:
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(431, "header_too_large", "request headers over the byte limit")
                return
            super().data_received(data)
            return
        # Past the headers, what is not body is chunk framing and trailers, which the
        # parser keeps growing (a trailer value by appending) until it ends: counted
        # against the same byte limit, as hyper and Go count trailers as headers.
        self._body_bytes = 0
        super().data_received(data)
        if not self._in_headers and not self._refused:
            self._framing_bytes += len(data) - self._body_bytes
            if self._framing_bytes > self.limits.max_header_bytes:
                self._refuse(431, "header_too_large", "request trailers over the byte limit")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_count = 0
        self._framing_bytes = 0

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refuse(431, "too_many_headers", "more request headers than allowed")
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        if self._anonymous and self.url.split(b"?", 1)[0] not in PROBE_PATHS:
            self._refuse(403, "client_certificate_required",
                         "a client certificate from --client-ca is required; only "
                         "/healthz and /readyz answer without one")  # fmt: skip
            return
        self._in_headers = False
        self._header_bytes = 0
        if len(self.tasks) >= self.limits.max_in_flight:
            app, self.app = self.app, _busy  # this one request only
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()
        if len(self.pipeline) > self.limits.max_pipelined:
            # httptools parses a whole read (up to 256 KiB under TLS) before uvicorn can
            # stop reading, and queues every request in it with its body: ~95 reviews,
            # ~0.5 MiB, per read on a connection whose client never reads its answers.
            # Go answers pipelined requests one at a time; the API server never
            # pipelines. Past a few queued requests the connection is answered and closed.
            self.pipeline.clear()
            self._refuse(
                503, "too_many_pipelined", "too many pipelined requests; send one at a time"
            )

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._in_headers = True
        super().on_message_complete()

    # Answers of our own

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "bad_request", msg)

    def _refuse(self, status: int, error: str, message: str) -> None:
        """Answer and hang up. Reading stops at once, so a client still sending fills its
        own buffers, not ours; a TLS close waits for the peer, so the socket is aborted
        a second later whatever the peer does."""
        self._refused = True
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(json_reply(status, error, message))
        transport.pause_reading()
        transport.close()
        self.loop.call_later(1.0, transport.abort)

    # The request deadline (slowloris)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.limits.request_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def https_server(
    app: Any,
    host: str,
    port: int,
    ctx: ssl.SSLContext,
    limits: Limits | None = None,
    trust: ClientTrust | None = None,
) -> uvicorn.Server:
    """A uvicorn server on ``ctx``: the one way bindcheck (and its benchmark baseline) serves.

    Run it with :func:`serve`, whose event loop bounds the TLS handshake.
    """
    limits = limits or Limits()
    protocol = type("GuardedProtocol", (GuardedProtocol,), {"limits": limits, "trust": trust})
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # nothing sits between the API server and us
        timeout_keep_alive=int(limits.keep_alive),
        timeout_graceful_shutdown=25,
        limit_concurrency=None,  # ours counts requests, not idle connections
        http=protocol,
    )
    config.load()
    config.ssl = ctx  # our own context, so rotation can update it in place
    return uvicorn.Server(config)


def loop_factory(handshake_timeout: float) -> Callable[[], asyncio.AbstractEventLoop]:
    """Event loops (uvloop when installed, as uvicorn picks) whose servers give a TLS
    handshake ``handshake_timeout`` seconds, not asyncio's 60."""
    base: type[asyncio.AbstractEventLoop]
    try:
        import uvloop

        base = uvloop.Loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        base = asyncio.SelectorEventLoop

    class HandshakeBoundLoop(base):  # type: ignore[valid-type,misc]
        async def create_server(self, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("ssl") is not None:
                kwargs.setdefault("ssl_handshake_timeout", handshake_timeout)
            return await super().create_server(*args, **kwargs)

    return HandshakeBoundLoop


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one (connections are files); the new
    soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def serve(server: uvicorn.Server, limits: Limits) -> None:
    """Run ``server`` until it stops, on a loop that bounds TLS handshakes."""
    with asyncio.Runner(loop_factory=loop_factory(limits.handshake_timeout)) as runner:
        runner.run(server.serve())
