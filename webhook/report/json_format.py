"""The JSON contract of DESIGN.md (results + summary), plus unreadable inputs as errors."""

from __future__ import annotations

import json
from typing import Any

from webhook.report.results import Report
from webhook.violations import Violation


def violation_dict(v: Violation) -> dict[str, str]:
    return {"field": v.field, "reason": v.reason.value, "message": v.message, "rule": v.rule}


def render_json(report: Report) -> str:
    results: list[dict[str, Any]] = [
        {
            "source": r.source,
            "line": r.line,
            "kind": r.outcome.kind,
            "name": r.outcome.name,
            "namespace": r.outcome.namespace,
            "allowed": r.outcome.allowed,
            "violations": [violation_dict(v) for v in r.outcome.denials],
            "warnings": [violation_dict(v) for v in r.outcome.warnings],
            "audits": [violation_dict(v) for v in r.outcome.audits],
        }
        for r in report.results
    ]
    out = {
        "results": results,
        "errors": [
            {"source": e.source, "line": e.line, "message": e.message} for e in report.errors
        ],
        "summary": {
            "objects": len(report.results),
            "denied": report.denied,
            "skipped": report.skipped,
        },
    }
    return json.dumps(out, indent=2) + "\n"
