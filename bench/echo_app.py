"""The benchmark baseline: a minimal FastAPI endpoint that parses the body and echoes the uid,
served exactly as bindcheck is (same FastAPI and uvicorn settings, same TLS context)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fastapi import FastAPI, Request, Response

from webhook.connections import Limits, https_server, serve
from webhook.server import APP_SETTINGS
from webhook.serving import tls_context

app = FastAPI(**APP_SETTINGS)


@app.post("/validate")
async def validate(request: Request) -> Response:
    body = json.loads(await request.body())
    out = {"apiVersion": body["apiVersion"], "kind": "AdmissionReview",
           "response": {"uid": body["request"]["uid"], "allowed": True}}  # fmt: skip
    return Response(json.dumps(out), media_type="application/json")


if __name__ == "__main__":
    port, cert_dir = int(sys.argv[1]), Path(sys.argv[2])
    limits = Limits()
    serve(https_server(app, "127.0.0.1", port, tls_context(cert_dir, None), limits), limits)
