"""Running the app: TLS, local certificates, live reload of certificates, catalog and rules.

Certificates rotate the way cert-manager rotates a mounted Secret: the files
change, the server notices within a poll interval and loads them into the live
SSLContext; handshakes after that use the new pair, in-flight connections are
untouched. A new pair is first loaded into a scratch context so a half-written
rotation (new cert, old key) is never installed. A broken catalog or rule file
keeps the last good validator serving and shows up on /readyz and in the log.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from webhook.certs import ensure_local_certs, not_after
from webhook.core import Validator
from webhook.errors import BindcheckError
from webhook.server import ServerState, create_app, json_log_line

POLL_SECONDS = 2.0


class JsonFormatter(logging.Formatter):
    """Log records as :func:`webhook.server.json_log_line`, the shape decision lines have."""

    def format(self, record: logging.LogRecord) -> str:
        return json_log_line(record.levelname.lower(), record.name, record.getMessage())


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def tls_context(cert_dir: Path, client_ca: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_dir / "tls.crt", cert_dir / "tls.key")
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline per request.

    uvicorn times out idle keep-alive connections but not a client that trickles
    a request in (slowloris): such a connection would hold its slot forever.
    Here a request must arrive whole within :attr:`timeout` seconds of its first
    byte (or of the connection opening), or the connection is closed.
    """

    timeout = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None:
            self._arm()
        super().data_received(data)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def https_server(
    app: Any, host: str, port: int, ctx: ssl.SSLContext, request_timeout: float = 10.0
) -> uvicorn.Server:
    """A uvicorn server on ``ctx``: the one way bindcheck (and its benchmark baseline) serves."""
    protocol = type("DeadlineProtocol", (DeadlineProtocol,), {"timeout": request_timeout})
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=25,
        limit_concurrency=1000,
        http=protocol,
        h11_max_incomplete_event_size=64 * 1024,
    )
    config.load()
    config.ssl = ctx  # our own context, so rotation can update it in place
    return uvicorn.Server(config)


def _signature(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for path in paths:
        files = sorted(path.glob("*")) if path.is_dir() else [path]
        for f in files:
            try:
                st = f.stat()
                out.append((str(f), st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((str(f), 0, 0))
    return tuple(out)


async def watch(
    state: ServerState,
    ctx: ssl.SSLContext,
    cert_dir: Path,
    config_paths: list[Path],
    rebuild: Callable[[], Validator],
    interval: float = POLL_SECONDS,
) -> None:
    """Poll files; reload what changed. Runs on the server's event loop."""
    log = logging.getLogger("bindcheck")
    cert_files = [cert_dir / "tls.crt", cert_dir / "tls.key"]
    cert_sig, config_sig = _signature(cert_files), _signature(config_paths)
    while True:
        await asyncio.sleep(interval)
        sig = _signature(cert_files)
        if sig != cert_sig:
            try:
                scratch = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                crt, key = (str(p) for p in cert_files)
                scratch.load_cert_chain(crt, key)  # refuses a mismatched pair
                ctx.load_cert_chain(crt, key)
                cert_sig = sig
                state.problems.pop("certificates", None)
                state.metrics.cert_expiry.set(not_after(cert_files[0]))
                state.metrics.reloads.labels("certificates", "ok").inc()
                log.info("reloaded serving certificate")
            except (OSError, ssl.SSLError, ValueError) as exc:
                # Mid-rotation (new cert, old key) is normal: retry next poll.
                state.problems["certificates"] = f"cannot load new pair: {type(exc).__name__}"
                state.metrics.reloads.labels("certificates", "error").inc()
        sig = _signature(config_paths)
        if config_paths and sig != config_sig:
            config_sig = sig
            try:
                state.validator = rebuild()
                state.problems.pop("config", None)
                state.metrics.reloads.labels("config", "ok").inc()
                log.info("reloaded catalog and rules")
            except BindcheckError as exc:
                state.problems["config"] = str(exc)
                state.metrics.reloads.labels("config", "error").inc()
                log.error("config reload failed, serving the last good config: %s", exc)


def run_server(
    args: argparse.Namespace, validator: Validator, rebuild: Callable[[], Validator]
) -> int:
    """Serve until SIGTERM/SIGINT; ``rebuild`` makes a fresh validator when config files change."""
    setup_logging(args.log_level)
    log = logging.getLogger("bindcheck")
    cert_dir: Path = args.cert_dir
    if ensure_local_certs(cert_dir):
        log.info("created a local CA and serving certificate in %s", cert_dir)
        sys.stderr.write(
            f"Created a local CA in {cert_dir}/. Try:\n  curl --cacert {cert_dir}/ca.crt "
            f"https://localhost:{args.port}/readyz\n"
        )
    state = ServerState(validator, ratcheting=args.ratcheting, max_body_bytes=args.max_body_bytes)
    state.metrics.cert_expiry.set(not_after(cert_dir / "tls.crt"))
    ctx = tls_context(cert_dir, args.client_ca)
    server = https_server(create_app(state), args.host, args.port, ctx, args.request_timeout)
    config_paths = [*args.rules]
    if args.catalog and args.catalog != "none":
        config_paths.append(Path(args.catalog))

    async def main() -> None:
        watcher = asyncio.create_task(watch(state, ctx, cert_dir, config_paths, rebuild))
        try:
            await server.serve()
        finally:
            watcher.cancel()

    # uvicorn drains on SIGTERM/SIGINT, then re-raises the signal with the handlers it
    # found at start; a no-op handler makes that a clean exit 0 after the drain.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    # Start-up objects (compiled rules, catalog, FastAPI) never die: keep them out of the
    # collector's scans, and collect young objects less often. Requests allocate
    # mostly acyclic data that reference counting frees; this trims p99 jitter.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    # The loop uvicorn would pick (uvloop when installed), as Server.run() does.
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        try:
            runner.run(main())
        except SystemExit:  # uvicorn exits this way when it cannot listen
            if server.started:
                raise
    state.decisions.flush()  # lines of the last loop turn, if the loop stopped first
    if not server.started:  # uvicorn logged why (address in use, permission denied...)
        sys.stderr.write(f"bindcheck: could not serve on {args.host}:{args.port}\n")
        return 2
    log.info("stopped")
    return 0
