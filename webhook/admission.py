"""The admission engine: an AdmissionReview in, the response body out. No HTTP here.

UPDATE ratchets (webhook/ratchet.py): a violation the old object already had, on
a value the update did not change, is downgraded to a warning, so a workload that
predates a rule can still be scaled or edited; anything the update touches is
judged afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webhook.core import Outcome, Validator
from webhook.ratchet import ratchet
from webhook.reviews import AdmissionReview
from webhook.text import clipped, shown
from webhook.violations import Violation

MAX_WARNING = 120  # Kubernetes advises warnings under 120 characters
MAX_WARNINGS = 20


@dataclass(frozen=True, slots=True)
class Decision:
    """What was decided, for the response, the log line and the metrics."""

    response: dict[str, Any]
    outcome: Outcome | None
    allowed: bool


def review(validator: Validator, body: AdmissionReview, ratcheting: bool = True) -> Decision:
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
        warnings = [_short(v) for v in outcome.warnings]
        if warnings:
            response["warnings"] = warnings[:MAX_WARNINGS]
    body_out = {"apiVersion": body.api_version, "kind": "AdmissionReview", "response": response}
    return Decision(body_out, outcome, response["allowed"])


def _status(outcome: Outcome) -> dict[str, Any]:
    denials = outcome.denials
    name = shown(outcome.name, 256)
    what = f'{outcome.kind}.runtime.wasmcloud.dev "{name}" is invalid'
    listed = ", ".join(f"{v.field}: {v.reason.label}: {v.message} [{v.rule}]" for v in denials)
    return {
        "status": "Failure",
        "code": 403,
        "reason": "Invalid",
        "message": f"{what}: [{listed}]",
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


def _short(v: Violation) -> str:
    return clipped(f"[{v.rule}] {v.field}: {v.message}", MAX_WARNING)
