"""The FastAPI app: /validate, /healthz, /readyz, /metrics. A thin shell over webhook.admission.

Two error families stay apart: a bad *object* is an AdmissionReview denial
(HTTP 200); a bad *request* (not JSON, too big, not an AdmissionReview) is a
4xx with a JSON error. Nothing here answers 500 on purpose.

``POST /validate`` is a plain ASGI app in front of the FastAPI app rather than a
route: FastAPI's per-request routing, dependency solving, middleware and response
classes cost about 40 µs here, more than checking a short list, and admission
sits on the API server's hot path. Health, readiness, metrics, 404 and the rest
are ordinary FastAPI routes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from webhook.admission import Decision, review
from webhook.core import Judge, Validator
from webhook.crd import SPEC_PATHS
from webhook.errors import BindcheckError
from webhook.facts import FRESH, Facts
from webhook.fleet import ClusterHost, describe, judge_for
from webhook.metrics import Metrics
from webhook.reviews import AdmissionReview
from webhook.text import clipped, printable

log = logging.getLogger("bindcheck.decisions")
VALIDATE_PATH = "/validate"
KIND_LABELS = {k: k for k in SPEC_PATHS}
"""The ``kind`` label's values: the three kinds, else ``other``."""
APP_SETTINGS: dict[str, Any] = {
    "title": "bindcheck",
    "docs_url": None,
    "redoc_url": None,
    "openapi_url": None,
    # Prometheus metrics are our own; without this FastAPI asks the OpenTelemetry
    # providers on every request whether anything listens.
    "telemetry": {"tracing": False, "metrics": False, "logs": False},
}
"""FastAPI settings, shared with the benchmark's echo baseline so both are served alike."""


def json_log_line(level: str, logger: str, msg: str, fields: dict[str, Any] | None = None) -> str:
    """The shape of every bindcheck log line: one JSON object, ASCII-escaped, so no
    value can break a line or drive a terminal.

    orjson escapes what JSON must (quotes, backslashes, controls below U+0020); a line
    that holds anything past ASCII (U+0085, U+2028, a C1 control) goes through the
    standard library's ``ensure_ascii`` instead.
    """
    line = {"level": level, "logger": logger, "msg": msg, **(fields or {})}
    try:
        fast: bytes | None = orjson.dumps(line)
    except TypeError:  # a value orjson does not write (an int past 64 bits)
        fast = None
    if fast is not None and fast.isascii():
        return fast.decode()
    return json.dumps(line, ensure_ascii=True, default=str, separators=(",", ":"))


class DecisionLog:
    """Decision lines (:func:`json_log_line`), written in batches.

    Straight to stderr: the logging module's records, handlers and formatter cost
    about 12 µs a line under load, 8% of a review. Lines wait up to
    :attr:`FLUSH_AFTER` seconds, or until :attr:`MAX_PENDING` of them are waiting, and
    leave in one write (a write per event-loop turn measured about 1% slower at
    concurrency 16). Stopping the server flushes what waits; a killed process loses
    at most those 10 ms of lines. ``--log-level`` still decides, through the decisions
    logger's level.
    """

    FLUSH_AFTER = 0.01
    MAX_PENDING = 512

    def __init__(self) -> None:
        self._pending: list[str] = []

    def write(self, fields: dict[str, Any]) -> None:
        pending = self._pending
        pending.append(json_log_line("info", log.name, "decision", fields))
        if len(pending) == 1:
            try:
                asyncio.get_running_loop().call_later(self.FLUSH_AFTER, self.flush)
            except RuntimeError:  # no event loop (a direct call): write now
                self.flush()
        elif len(pending) >= self.MAX_PENDING:
            self.flush()  # the timer then finds nothing to write

    def flush(self) -> None:
        lines, self._pending = self._pending, []
        if lines:
            sys.stderr.write("\n".join(lines) + "\n")
            sys.stderr.flush()


@dataclass(slots=True)
class ServerState:
    """What the app serves with. :meth:`install` swaps the validator or the cluster's
    hosts whole; reviews are judged by :attr:`judge`, built from both."""

    validator: Validator
    ratcheting: bool = True
    max_body_bytes: int = 3 * 1024 * 1024
    metrics: Metrics = field(default_factory=Metrics)
    problems: dict[str, str] = field(default_factory=dict)
    """Reload failures by source; the last good config keeps serving meanwhile."""
    decisions: DecisionLog = field(default_factory=DecisionLog)
    facts: Callable[[], Facts] = lambda: FRESH
    """A fresh memo for each validator a :class:`~webhook.fleet.Fleet` builds."""
    hosts: list[ClusterHost] | None = None
    """The cluster's Host objects under ``--discover-hosts`` (``[]``: none yet); ``None``
    when not discovering."""
    judge: Judge = field(init=False)

    def __post_init__(self) -> None:
        self.judge = self.validator

    def install(
        self,
        validator: Validator | None = None,
        hosts: list[ClusterHost] | None = None,
        judge: Judge | None = None,
    ) -> None:
        """A new validator (config reloaded) or new hosts (the cluster changed), and the
        judge of both: ``judge`` when the caller built it from exactly these (in a worker
        thread: a Fleet of six releases takes about 25 ms), else built here."""
        validator = validator or self.validator
        hosts = self.hosts if hosts is None else hosts
        self.judge = judge or judge_for(validator, hosts or [], self.facts)
        self.validator, self.hosts = validator, hosts

    def report_failure(self, what: str, exc: BaseException) -> None:
        """A failed reload pass: logged, counted, on /readyz; bindcheck's own errors carry
        a message fit for users, anything else is named by type."""
        text = str(exc) if isinstance(exc, BindcheckError) else f"unexpected {type(exc).__name__}"
        self.problems[what] = text[:500]
        self.metrics.reloads.labels(what, "error").inc()
        logging.getLogger("bindcheck").error(
            "%s reload failed, serving the last good %s: %s", what, what, text[:500]
        )


class BadRequest(Exception):
    """A request we cannot answer with a review: a 4xx with a JSON error."""

    def __init__(self, status: int, reason: str, message: str, uid: str | None = None) -> None:
        self.status, self.reason, self.message, self.uid = status, reason, message, uid

    def payload(self) -> bytes:
        body = {"error": self.reason, "message": self.message}
        if self.uid is not None:  # so a caller can match the answer to its request
            body["uid"] = self.uid
        return json.dumps(body).encode()


def _parse(body: bytes) -> AdmissionReview:
    """A review body, decoded by orjson: about 4x faster than the standard library.

    orjson refuses ``NaN``/``Infinity``, lone surrogates, invalid UTF-8 and nesting past
    1,024 levels, but keeps the last of duplicate keys where ``bindcheck check`` refuses
    them. Reviews come from the API server, which cannot send duplicates: it builds the
    body from decoded objects (apiserver pkg/admission/plugin/webhook/request/
    admissionreview.go, CreateAdmissionObjects puts ``VersionedObject.Object()`` in a
    ``RawExtension``) and encodes them with Go's encoding/json (apimachinery
    pkg/runtime/extension.go, RawExtension.MarshalJSON; a custom resource is a
    ``map[string]interface{}``, which has one value per key). Only a direct caller can
    send duplicates, and an answer to a direct caller admits nothing.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(400, "invalid_json", f"body is not valid JSON: {exc}"[:200]) from None
    try:
        return AdmissionReview.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        message = printable(clipped(f"not an AdmissionReview: {where}: {err['msg']}", 300))
        raise BadRequest(400, "not_admission_review", message, _readable_uid(data)) from None


def _readable_uid(data: Any) -> str | None:
    """``request.uid`` of a body that is not a valid review, when it is a sane string."""
    request = data.get("request") if isinstance(data, dict) else None
    uid = request.get("uid") if isinstance(request, dict) else None
    if isinstance(uid, str) and 0 < len(uid) <= 256:
        return printable(uid)
    return None


class ValidateEndpoint:
    """``POST /validate``: an AdmissionReview in, its answer out; every other path passes on."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != VALIDATE_PATH:
            await self.app(scope, receive, send)
            return
        try:
            if scope["method"] != "POST":
                raise BadRequest(405, "method_not_allowed", "use POST")
            body = await self._read(scope, receive)
            if body is None:
                return  # the client left; nobody to answer
            status, payload = 200, self._answer(body)
        except BadRequest as exc:
            self.state.metrics.bad_requests.labels(exc.reason).inc()
            status = exc.status
            payload = exc.payload()
        except Exception as exc:  # pragma: no cover - a bug; never a traceback to the caller
            logging.getLogger("bindcheck").error("internal error: %s", type(exc).__name__)
            self.state.metrics.bad_requests.labels("internal").inc()
            status, payload = 500, b'{"error": "internal", "message": "internal error"}'
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        if status == 405:
            headers.append((b"allow", b"POST"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        limit = self.state.max_body_bytes
        ctype, declared = b"", None
        for name, value in scope["headers"]:
            if name == b"content-type":
                ctype = value
            elif name == b"content-length":
                declared = value
        if ctype and not ctype.lower().startswith(b"application/json"):  # media types ignore case
            raise BadRequest(415, "content_type", "send application/json")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise BadRequest(413, "too_large", f"request body over the {limit}-byte limit")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BadRequest(413, "too_large", f"request body over the {limit}-byte limit")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _answer(self, raw: bytes) -> bytes:
        started = time.perf_counter()
        body = _parse(raw)
        state = self.state
        decision = review(state.judge, body, state.ratcheting)
        payload = orjson.dumps(decision.response)
        self._record(body, decision, time.perf_counter() - started)
        return payload

    def _record(self, body: AdmissionReview, decision: Decision, elapsed: float) -> None:
        """Metrics and the decision log line: rule ids and names only, never config values."""
        metrics = self.state.metrics
        req, outcome = body.request, decision.outcome
        # Label values come from a fixed set: a direct caller chooses request.kind freely.
        kind = outcome.kind if outcome else KIND_LABELS.get(req.kind.kind, "other")
        verdict = "allowed" if decision.allowed else "denied"
        metrics.count_request(kind, req.operation, verdict)
        metrics.latency.observe(elapsed)
        rules: set[str] = set()
        if outcome is not None:
            for v in outcome.violations:
                metrics.count_violation(v.rule, v.action.value)
                rules.add(v.rule)
        if log.isEnabledFor(logging.INFO):
            self.state.decisions.write(
                {
                    "uid": req.uid,
                    "kind": kind,
                    "object": clipped(f"{req.namespace}/{outcome.name if outcome else req.name}"),
                    "operation": req.operation,
                    "dry_run": req.dry_run,
                    "verdict": verdict,
                    "rules": sorted(rules),
                    "latency_ms": round(elapsed * 1000, 3),
                }
            )


def create_app(state: ServerState) -> ASGIApp:
    """The served app: ``/validate`` outermost, everything else through FastAPI.

    ``/validate`` answers before FastAPI's own middleware (error pages, telemetry,
    body limits) sees the request: it bounds its body, catches its own errors and
    never needs them, and on the API server's hot path each layer costs.
    """
    app = FastAPI(**APP_SETTINGS)
    metrics = state.metrics

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        logging.getLogger("bindcheck").error("internal error: %s", type(exc).__name__)
        metrics.bad_requests.labels("internal").inc()
        return JSONResponse({"error": "internal", "message": "internal error"}, status_code=500)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        # The app only exists once every rule compiled and the TLS pair loaded, so
        # answering at all means ready; reload failures are shown, the last good
        # config still serves.
        body: dict[str, Any] = {
            "status": "ready",
            "rules": len(state.validator.rules),
            "policy": state.validator.policy.value,
            "catalog": state.validator.catalog.source if state.validator.catalog else "none",
        }
        if state.hosts is not None:
            body["catalog"] = (
                "the cluster's Host objects"
                if state.hosts
                else (f"{body['catalog']} (the cluster has no Host objects yet)")
            )
            body["hosts"] = {"objects": len(state.hosts), "groups": describe(state.hosts)}
        if state.problems:
            body["problems"] = state.problems  # last good config still serving
        return JSONResponse(body)

    @app.get("/metrics")
    async def metrics_endpoint() -> PlainTextResponse:
        return PlainTextResponse(
            generate_latest(metrics.registry).decode(), media_type=CONTENT_TYPE_LATEST
        )

    return ValidateEndpoint(app, state)
