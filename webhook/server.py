"""The FastAPI app: /validate, /healthz, /readyz, /metrics. A thin shell over webhook.admission.

Two error families stay apart: a bad *object* is an AdmissionReview denial
(HTTP 200); a bad *request* (not JSON, too big, not an AdmissionReview) is a
4xx with a JSON error. Nothing here answers 500 on purpose.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from webhook.admission import review
from webhook.core import Validator
from webhook.manifests import loads_strict
from webhook.metrics import Metrics
from webhook.report.safe import printable
from webhook.reviews import AdmissionReview

log = logging.getLogger("bindcheck.decisions")


@dataclass(slots=True)
class ServerState:
    """What the app serves with; ``validator`` is swapped whole when config reloads."""

    validator: Validator
    ratcheting: bool = True
    max_body_bytes: int = 3 * 1024 * 1024
    metrics: Metrics = field(default_factory=Metrics)
    problems: dict[str, str] = field(default_factory=dict)
    """Reload failures by source; the last good config keeps serving meanwhile."""


class BadRequest(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status, self.reason, self.message = status, reason, message


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BadRequest(413, "too_large", f"request body over the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, "too_large", f"request body over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> AdmissionReview:
    try:
        data = loads_strict(body)
    except RecursionError:
        raise BadRequest(400, "invalid_json", "JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(400, "invalid_json", f"body is not valid JSON: {exc}"[:200]) from None
    try:
        return AdmissionReview.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        message = f"not an AdmissionReview: {where}: {err['msg']}"
        raise BadRequest(400, "not_admission_review", printable(message)[:300]) from None


def create_app(state: ServerState) -> FastAPI:
    app = FastAPI(title="bindcheck", docs_url=None, redoc_url=None, openapi_url=None)
    metrics = state.metrics

    @app.exception_handler(BadRequest)
    async def bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        metrics.bad_requests.labels(exc.reason).inc()
        return JSONResponse({"error": exc.reason, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        logging.getLogger("bindcheck").error("internal error: %s", type(exc).__name__)
        metrics.bad_requests.labels("internal").inc()
        return JSONResponse({"error": "internal", "message": "internal error"}, status_code=500)

    @app.post("/validate")
    async def validate(request: Request) -> Response:
        started = time.perf_counter()
        ctype = request.headers.get("content-type", "")
        if ctype and not ctype.startswith("application/json"):
            raise BadRequest(415, "content_type", "send application/json")
        body = _parse(await _read_body(request, state.max_body_bytes))
        decision = review(state.validator, body, state.ratcheting)
        elapsed = time.perf_counter() - started
        req = body.request
        outcome = decision.outcome
        kind = outcome.kind if outcome else (req.kind.kind or "other")
        verdict = "allowed" if decision.allowed else "denied"
        metrics.requests.labels(kind, req.operation, verdict).inc()
        metrics.latency.observe(elapsed)
        rules: list[str] = []
        if outcome is not None:
            for v in outcome.violations:
                metrics.violations.labels(v.rule, v.action.value).inc()
                rules.append(v.rule)
        log.info(
            "decision",
            extra={
                "uid": req.uid,
                "kind": kind,
                "object": f"{req.namespace}/{outcome.name if outcome else req.name}",
                "operation": req.operation,
                "dry_run": req.dry_run,
                "verdict": verdict,
                "rules": sorted(set(rules)),
                "latency_ms": round(elapsed * 1000, 3),
            },
        )
        return Response(json.dumps(decision.response), media_type="application/json")

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
        if state.problems:
            body["problems"] = state.problems  # last good config still serving
        return JSONResponse(body)

    @app.get("/metrics")
    async def metrics_endpoint() -> PlainTextResponse:
        return PlainTextResponse(
            generate_latest(metrics.registry).decode(), media_type=CONTENT_TYPE_LATEST
        )

    return app
