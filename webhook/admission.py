"""The admission engine: an AdmissionReview in, the response body out. No HTTP here.

UPDATE ratchets (webhook/ratchet.py): a violation the old object already had, on
a value the update did not change, is downgraded to a warning, so a workload that
predates a rule can still be scaled or edited; anything the update touches is
judged afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webhook.core import Judge, Outcome
from webhook.ratchet import ratchet
from webhook.reviews import AdmissionReview
from webhook.text import clipped, printable, shown
from webhook.violations import Violation

# What the API server passes on unchanged (k8s.io/apiserver pkg/endpoints/filters/
# warning.go): every warning whole while a response's warnings total at most 4,096
# runes; past that, each one cut to 256. So ours go whole when they fit in 4,096 (the
# fix a message names stays readable), and otherwise each is cut to 256 by us, at a
# mark, with a last line saying how many were left out. A warning with a control
# character is dropped there (apimachinery pkg/util/net NewWarningHeader): ours are
# escaped first.
MAX_WARNING = 256
MAX_WARNINGS_TOTAL = 4096


@dataclass(frozen=True, slots=True)
class Decision:
    """What was decided, for the response, the log line and the metrics."""

    response: dict[str, Any]
    outcome: Outcome | None
    allowed: bool


def review(validator: Judge, body: AdmissionReview, ratcheting: bool = True) -> Decision:
    """The answer to a review."""
    req = body.request
    outcome = None
    if req.operation in ("CREATE", "UPDATE") and req.object is not None:
        outcome = validator.check(req.object)
    if (
        outcome is not None
        and not outcome.allowed  # only denials ratchet: skip the old object otherwise
        and ratcheting
        and req.operation == "UPDATE"
        and req.old_object
    ):
        old = validator.check(req.old_object)
        if old is not None:
            outcome = ratchet(outcome, req.object, old, req.old_object)
    response: dict[str, Any] = {"uid": req.uid, "allowed": True}
    if outcome is not None:
        if not outcome.allowed:
            response["allowed"] = False
            response["status"] = _status(outcome)
        warnings = _warnings(outcome.warnings)
        if warnings:
            response["warnings"] = warnings
    body_out = {"apiVersion": body.api_version, "kind": "AdmissionReview", "response": response}
    return Decision(body_out, outcome, response["allowed"])


def _status(outcome: Outcome) -> dict[str, Any]:
    """The denial: 403 Forbidden, every violation on a line of its own.

    kubectl prints a status with reason ``Invalid`` as ``The <Kind> "<name>" is invalid``
    followed by its causes, dropping the message and with it the webhook's name
    (kubectl pkg/cmd/util/helpers.go, checkErr). With any other reason it prints
    ``Error from server (<reason>): <message>``, where the API server has prefixed the
    message with ``admission webhook "<name>" denied the request`` (apiserver
    pkg/admission/plugin/webhook/errors/statuserror.go, ToStatusErr). So the denial is
    Forbidden, the reason Kubernetes pairs with 403, and the message carries the causes
    one per line; ``details.causes`` keeps them structured for API clients.
    """
    denials = outcome.denials
    name = shown(outcome.name, 256)
    count = f"{len(denials)} violation{'s' if len(denials) != 1 else ''}"
    lines = [f'{outcome.kind} "{name}" has {count}:']
    lines += [f"* {v.field}: {v.reason.label}: {v.message} [{v.rule}]" for v in denials]
    return {
        "status": "Failure",
        "code": 403,
        "reason": "Forbidden",
        "message": "\n".join(lines),
        "details": {
            "name": name,
            "group": "runtime.wasmcloud.dev",
            "kind": outcome.kind,
            "causes": [
                {"field": v.field, "reason": v.reason.value, "message": f"[{v.rule}] {v.message}"}
                for v in denials
            ],
        },
    }


def _warnings(violations: list[Violation]) -> list[str]:
    """Each warning escaped; all of them whole when they fit in
    :data:`MAX_WARNINGS_TOTAL` runes, else each within :data:`MAX_WARNING` and as many
    as fit, the last place kept for how many more there are."""
    texts = [
        clipped(printable(f"[{v.rule}] {v.field}: {v.message}"), MAX_WARNINGS_TOTAL)
        for v in violations
    ]
    if sum(len(t) for t in texts) <= MAX_WARNINGS_TOTAL:
        return texts
    out: list[str] = []
    total = 0
    for k, text in enumerate(texts):
        short = clipped(text, MAX_WARNING)
        if total + len(short) + 80 > MAX_WARNINGS_TOTAL:  # 80: room for the last line
            out.append(f"... and {len(texts) - k} more warnings: run bindcheck check")
            break
        out.append(short)
        total += len(short)
    return out
