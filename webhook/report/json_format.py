"""The JSON contract of DESIGN.md, written as the run goes::

{"results": [{"source", "line", "kind", "name", "namespace", "allowed",
              "violations": [{"field", "reason", "message", "rule", "line"}],
              "warnings": [...], "audits": [...],
              "apiServer": {"crds", "admitted", "refusedBy", "hostFails",
                            "onlyBindcheck", "said"}}],
 "errors": [{"source", "line", "message"}],
 "skippedFiles": [{"source", "reason"}],
 "skippedObjects": [{"source", "line", "apiVersion", "kind", "name"}],
 "summary": {"objects", "denied", "warned", "skipped"}}
"""

from __future__ import annotations

import json
from typing import Any

from webhook.api_server import Admission
from webhook.report.results import Reporter, Result, Summary
from webhook.violations import Violation


def violation_dict(v: Violation) -> dict[str, str]:
    return {"field": v.field, "reason": v.reason.value, "message": v.message, "rule": v.rule}


def admission_dict(a: Admission | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "crds": a.crds.name,
        "admitted": a.admitted,
        "refusedBy": list(a.refused_by),
        "hostFails": list(a.host_fails),
        "onlyBindcheck": list(a.only_bindcheck),
        "said": a.sentence(),
    }


class JsonReporter(Reporter):
    _started = False

    def result(self, result: Result) -> None:
        o = result.outcome
        found: dict[str, list[dict[str, Any]]] = {"violations": [], "warnings": [], "audits": []}
        for v, line in zip(o.violations, result.lines, strict=True):
            key = {"deny": "violations", "warn": "warnings", "audit": "audits"}[v.action.value]
            found[key].append({**violation_dict(v), "line": line})
        record = {
            "source": result.source,
            "line": result.line,
            "kind": o.kind,
            "name": o.name,
            "namespace": o.namespace,
            "allowed": o.allowed,
            **found,
            "apiServer": admission_dict(result.admission),
        }
        self.out.write(",\n  " if self._started else '{"results": [\n  ')
        self._started = True
        self.out.write(json.dumps(record))

    def finish(self, summary: Summary) -> None:
        if not self._started:
            self.out.write('{"results": [')
        tail = {
            "errors": [
                {"source": e.source, "line": e.line, "message": e.message} for e in summary.errors
            ],
            "skippedFiles": [{"source": s, "reason": r} for s, r in summary.skipped_files],
            "skippedObjects": [
                {
                    "source": s.source,
                    "line": s.line,
                    "apiVersion": s.api_version,
                    "kind": s.kind,
                    "name": s.name,
                }
                for s in summary.skipped_objects
            ],
            "summary": {
                "objects": summary.objects,
                "denied": summary.denied,
                "warned": summary.warned,
                "skipped": summary.skipped,
            },
        }
        body = json.dumps(tail, indent=2)[1:]  # the object's members, without its "{"
        self.out.write("\n]," + body + "\n")
