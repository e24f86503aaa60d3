"""The per-review floor in Python: a bare ASGI app that reads the body, decodes it with
orjson and answers a fixed review echoing the uid; nothing else.

``plain`` serves it on stock uvicorn (httptools, uvloop, the same TLS context as
bindcheck); ``guarded`` serves it exactly as bindcheck serves, through
webhook/connections.py's bounds, so the two rows price those bounds on their own.
``checked`` is ``guarded`` that also parses the review and judges it as bindcheck does
(webhook.server's parser, webhook.admission.review with the validator ``serve``
builds): bindcheck minus /validate's own bookkeeping (body bounds, metrics, the
decision log), so the row prices the checks under load and the bookkeeping apart.
``bookkept`` is bindcheck's own app (webhook.server.create_app, served as ``serve``
serves it, decision lines on) whose judge judges nothing: every review is parsed,
answered allowed, counted and logged, unchecked. It is bindcheck minus the checks,
so the row says what the rest of /validate leaves the checks of the floor's rate.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import uvicorn

from webhook.connections import Limits, https_server, serve
from webhook.serving import tls_context

HEADERS = [(b"content-type", b"application/json")]
JUDGE: Callable[[bytes], dict[str, Any]] | None = None
"""In ``checked`` mode: a review body to its answer, as bindcheck judges it."""


def bindcheck_judge() -> Callable[[bytes], dict[str, Any]]:
    from webhook.admission import review
    from webhook.cli import build_parser, make_validator
    from webhook.memo import Remembering
    from webhook.server import _parse

    validator = make_validator(build_parser().parse_args(["serve"]), Remembering(json_prints=True))
    return lambda body: review(validator, _parse(body)).response


class JudgesNothing:
    """A judge for which no object is ours: ``review`` answers allowed without a check."""

    def check(self, obj: Any) -> None:
        return None


def bookkept_app() -> Any:
    from webhook.cli import build_parser, make_validator
    from webhook.memo import Remembering
    from webhook.server import ServerState, create_app
    from webhook.serving import setup_logging

    setup_logging("info")  # decision lines on, as ``serve`` logs by default
    validator = make_validator(build_parser().parse_args(["serve"]), Remembering(json_prints=True))
    state = ServerState(validator)
    state.judge = JudgesNothing()
    return create_app(state)


async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    if JUDGE is not None:
        answer = orjson.dumps(JUDGE(b"".join(chunks)))
    else:
        review = orjson.loads(b"".join(chunks))
        answer = orjson.dumps({"apiVersion": review["apiVersion"], "kind": "AdmissionReview",
                               "response": {"uid": review["request"]["uid"], "allowed": True}})  # fmt: skip
    headers = [*HEADERS, (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def main() -> None:
    mode, port, cert_dir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    context = tls_context(cert_dir, None)
    if mode == "checked":
        global JUDGE
        JUDGE = bindcheck_judge()
    if mode in ("guarded", "checked", "bookkept"):
        served = bookkept_app() if mode == "bookkept" else app
        limits = Limits()
        serve(https_server(served, "127.0.0.1", port, context, limits), limits)
        return
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http="httptools", loop="uvloop",
                            log_level="warning", access_log=False,
                            ssl_certfile=str(cert_dir / "tls.crt"),
                            ssl_keyfile=str(cert_dir / "tls.key"))  # fmt: skip
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
