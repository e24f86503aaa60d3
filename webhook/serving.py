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
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webhook.connections import Limits, https_server, loop_factory, raise_open_file_limit
from webhook.core import Judge, Validator
from webhook.discovery import connector, discover_once, watch_hosts
from webhook.errors import ConfigError
from webhook.facts import FRESH, Facts
from webhook.fleet import ClusterHost, judge_for
from webhook.runtime.releases import is_release_name
from webhook.server import ServerState, create_app, json_log_line
from webhook.tls_files import has_pair, not_after

if TYPE_CHECKING:
    from webhook.client_trust import ClientTrust

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


TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
"""TLS 1.2 suites offered: AEAD with forward secrecy only (TLS 1.3's are all AEAD)."""


def tls_context(cert_dir: Path, client_ca: Path | None) -> ssl.SSLContext:
    """The server's TLS context; a pair or CA that does not load is a :class:`ConfigError`."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    try:
        ctx.load_cert_chain(cert_dir / "tls.crt", cert_dir / "tls.key")
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"cannot load tls.crt and tls.key from {cert_dir}: {_why(exc)}") from None
    if client_ca is not None:
        # Optional at the handshake: kubelet's HTTPS probes carry no certificate. A
        # certificate sent must still verify; without one, only the probe paths answer
        # (webhook/connections.py, GuardedProtocol.on_headers_complete).
        ctx.verify_mode = ssl.CERT_OPTIONAL
        try:
            ctx.load_verify_locations(client_ca)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ConfigError(f"cannot load --client-ca {client_ca}: {_why(exc)}") from None
    return ctx


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__


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


CONFIG_RELOAD_WARN_SECONDS = 30.0
"""A config rebuild still running after this is reported on /readyz and in the log."""


async def watch(
    state: ServerState,
    ctx: ssl.SSLContext,
    cert_dir: Path,
    config_paths: list[Path],
    rebuild: Callable[[], Validator],
    interval: float = POLL_SECONDS,
    trust: ClientTrust | None = None,
) -> None:
    """Poll files; reload what changed. Runs on the server's event loop, forever.

    Certificates and config are two loops that never wait on each other: whatever a
    rule file or catalog does (fail, take 15 s to rebuild, hang on a dead mount),
    rotated certificates are still served on time. A pass never ends its loop: any
    failure is logged, counted and shown on /readyz, and the last good config keeps
    serving. Config files are read and rebuilt in a worker thread, so neither a big
    file nor a hung read stalls reviews; a rebuild still running after
    :data:`CONFIG_RELOAD_WARN_SECONDS` is reported, and no second one starts meanwhile.
    """
    await asyncio.gather(
        _watch_certificates(state, ctx, cert_dir, interval, trust),
        _watch_config(state, config_paths, rebuild, interval),
    )


async def _watch_certificates(
    state: ServerState,
    ctx: ssl.SSLContext,
    cert_dir: Path,
    interval: float,
    trust: ClientTrust | None,
) -> None:
    cert_files = [cert_dir / "tls.crt", cert_dir / "tls.key"]
    cert_sig = _signature(cert_files)
    ca_sig = _signature([trust.path]) if trust else ()
    while True:
        await asyncio.sleep(interval)
        try:
            cert_sig = _reload_certificates(state, ctx, cert_files, cert_sig)
        except Exception as exc:  # never let a pass end the watcher
            state.report_failure("certificates", exc)
        if trust is None:
            continue
        try:
            sig = _signature([trust.path])
            if sig != ca_sig:
                ca_sig = sig
                trust.reload()  # raises on a broken file: the last good CAs stay
                ctx.load_verify_locations(trust.path)  # the handshake learns the new CA
                state.problems.pop("client-ca", None)
                state.metrics.loaded("client-ca")
                logging.getLogger("bindcheck").info("reloaded the client CA")
        except Exception as exc:
            state.report_failure("client-ca", exc)


async def _watch_config(
    state: ServerState, config_paths: list[Path], rebuild: Callable[[], Validator],
    interval: float,
) -> None:  # fmt: skip
    if not config_paths:
        return
    log = logging.getLogger("bindcheck")
    config_sig = await asyncio.to_thread(_signature, config_paths)

    Rebuilt = tuple[Any, Validator | None, Judge | None, Exception | None]

    def changed_and_rebuilt(seen: Any, hosts: list[ClusterHost] | None) -> Rebuilt:
        """(the signature read, the new validator or None, its judge on ``hosts``, what
        failed): the signature comes back even when the rebuild fails, so the same
        broken files are not retried."""
        sig = _signature(config_paths)
        if sig == seen:
            return sig, None, None, None
        try:
            validator = rebuild()
            return sig, validator, judge_for(validator, hosts or [], state.facts), None
        except Exception as exc:
            return sig, None, None, exc

    while True:
        await asyncio.sleep(interval)
        try:
            hosts = state.hosts
            task = asyncio.ensure_future(asyncio.to_thread(changed_and_rebuilt, config_sig, hosts))
            started, hung = time.monotonic(), False
            while not task.done():
                await asyncio.wait({task}, timeout=CONFIG_RELOAD_WARN_SECONDS)
                if not task.done():
                    hung = True
                    took = time.monotonic() - started
                    state.problems["config"] = (
                        f"config reload still running after {took:.0f} s (a hung read?); "
                        "serving the last good config"
                    )
                    log.error("config reload still running after %.0f s", took)
            config_sig, validator, judge, error = task.result()
            if error is not None:
                state.report_failure("config", error)
            elif validator is not None:
                # the hosts may have changed meanwhile: then the judge is built anew
                state.install(validator, judge=judge if state.hosts is hosts else None)
                state.problems.pop("config", None)
                state.metrics.loaded("config")
                log.info("reloaded catalog and rules")
            elif hung:  # it came back with nothing new: the hang is over
                state.problems.pop("config", None)
        except Exception as exc:  # never let a pass end the watcher
            state.report_failure("config", exc)


def _reload_certificates(
    state: ServerState, ctx: ssl.SSLContext, cert_files: list[Path], seen: tuple[Any, ...]
) -> tuple[Any, ...]:
    """Load a changed pair into the live context; the signature now served."""
    sig = _signature(cert_files)
    if sig == seen:
        return seen
    scratch = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    crt, key = (str(p) for p in cert_files)
    try:
        scratch.load_cert_chain(crt, key)  # refuses a mismatched pair
    except (OSError, ssl.SSLError, ValueError) as exc:
        # Mid-rotation (new cert, old key) is normal: retry next poll. Logged once per
        # distinct failure, so a pair that stays broken is in the log but does not flood it.
        problem = f"cannot load new pair: {type(exc).__name__}"
        if state.problems.get("certificates") != problem:
            logging.getLogger("bindcheck").error(
                "certificate reload failed, serving the last good pair: %s", problem
            )
        state.problems["certificates"] = problem
        state.metrics.reloads.labels("certificates", "error").inc()
        return seen
    ctx.load_cert_chain(crt, key)
    state.problems.pop("certificates", None)
    state.metrics.cert_expiry.set(not_after(cert_files[0]))
    state.metrics.loaded("certificates")
    logging.getLogger("bindcheck").info("reloaded serving certificate")
    return sig


def run_server(
    args: argparse.Namespace,
    validator: Validator,
    rebuild: Callable[[], Validator],
    facts: Callable[[], Facts] = lambda: FRESH,
) -> int:
    """Serve until SIGTERM/SIGINT; ``rebuild`` makes a fresh validator when config files
    change, ``facts`` a fresh memo for each release the cluster's hosts run."""
    setup_logging(args.log_level)
    log = logging.getLogger("bindcheck")
    cert_dir: Path = args.cert_dir
    if not has_pair(cert_dir):
        # cryptography loads only here and for --client-ca (webhook/tls_files.py says why)
        from webhook.certs import write_local_certs

        try:
            write_local_certs(cert_dir)
        except OSError as exc:
            raise ConfigError(f"cannot use --cert-dir {cert_dir}: {_why(exc)}") from None
        log.info("created a local CA and serving certificate in %s", cert_dir)
        sys.stderr.write(
            f"Created a local CA in {cert_dir}/. Try:\n  curl --cacert {cert_dir}/ca.crt "
            f"https://localhost:{args.port}/readyz\n"
        )
    state = ServerState(
        validator, ratcheting=args.ratcheting, max_body_bytes=args.max_body_bytes, facts=facts
    )
    connect = None
    if args.discover_hosts:
        connect = connector(args.kubeconfig, args.context)
        discover_once(state, connect)  # within its deadline: reviews start on real hosts
    state.metrics.cert_expiry.set(not_after(cert_dir / "tls.crt"))
    ctx = tls_context(cert_dir, args.client_ca)
    limits = Limits(
        request_timeout=args.request_timeout,
        handshake_timeout=args.request_timeout,
        max_header_bytes=args.max_header_bytes,
        max_connections=args.max_connections,
        max_in_flight=args.max_in_flight,
    )
    files = raise_open_file_limit()
    if files < limits.max_connections + 64:
        log.warning(
            "open-file limit %d is below --max-connections %d; the system may refuse sockets",
            files,
            limits.max_connections,
        )
    trust = None
    if args.client_ca is not None:
        from webhook.client_trust import ClientTrust

        trust = ClientTrust(args.client_ca)
    server = https_server(create_app(state), args.host, args.port, ctx, limits, trust)
    state.metrics.watch_serving(server.server_state.tasks, server.server_state.connections)
    for source in ("config", "certificates", *(("client-ca",) if trust else ())):
        state.metrics.loaded(source, at_start=True)
    config_paths = [*args.rules]
    if args.catalog and args.catalog != "none" and not is_release_name(args.catalog):
        config_paths.append(Path(args.catalog))  # a release is embedded: nothing to watch

    async def main() -> None:
        watchers = [asyncio.create_task(
            watch(state, ctx, cert_dir, config_paths, rebuild, args.reload_interval, trust)
        )]  # fmt: skip
        if connect is not None:
            watchers.append(asyncio.create_task(watch_hosts(state, connect, args.hosts_interval)))
        try:
            await server.serve()
        finally:
            for watcher in watchers:
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
    # uvloop when installed, as uvicorn picks; its servers bound the TLS handshake.
    with asyncio.Runner(loop_factory=loop_factory(limits.handshake_timeout)) as runner:
        try:
            runner.run(main())
        except SystemExit:  # uvicorn exits this way when it cannot listen
            if server.started:
                raise
    state.decisions.flush()  # lines still in their batch window when the loop stopped
    if not server.started:  # uvicorn logged why (address in use, permission denied...)
        sys.stderr.write(f"bindcheck: could not serve on {args.host}:{args.port}\n")
        return 2
    log.info("stopped")
    return 0
