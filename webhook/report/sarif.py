"""SARIF 2.1.0 for code-scanning tools: a rules table, results with physical locations.

Denials are ``error``, warnings ``warning``, audits ``note``. Each result points
at the line of the offending field (not just the document) and carries the
field path as a logical location and a fingerprint that survives line shifts.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from webhook import __version__
from webhook.report.results import Report
from webhook.violations import Action

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Action.DENY: "error", Action.WARN: "warning", Action.AUDIT: "note"}


def _uri(source: str) -> str:
    """A URI reference for a file: relative paths percent-encoded, absolute ones as file URIs."""
    if source == "<stdin>":
        return "stdin"
    path = PurePath(source)
    if path.is_absolute():
        return path.as_uri()
    text = path.as_posix().removeprefix("./")
    return quote(text.encode("utf-8", "surrogateescape"), safe="/")


def render_sarif(report: Report) -> str:
    rule_ids = sorted(report.rules)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = [
        {
            "id": rule_id,
            "name": "".join(part.title() for part in rule_id.split("-")),
            "shortDescription": {"text": report.rules[rule_id]},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["kubernetes", "wasmcloud"]},
        }
        for rule_id in rule_ids
    ]
    results: list[dict[str, Any]] = []
    for r in report.results:
        for v in r.outcome.violations:
            uri = _uri(r.source)
            entry: dict[str, Any] = {
                "ruleId": v.rule,
                "level": _LEVEL[v.action],
                "message": {"text": f"{v.field}: {v.reason.label}: {v.message}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": r.line_of(v)},
                        },
                        "logicalLocations": [
                            {
                                "fullyQualifiedName": f"{r.outcome.kind}/{r.outcome.name}"
                                f".{v.field}",
                                "kind": "member",
                            }
                        ],
                    }
                ],
                "partialFingerprints": {
                    "bindcheck/v1": hashlib.sha256(
                        f"{uri}|{r.outcome.kind}|{r.outcome.name}|{v.field}|{v.rule}".encode()
                    ).hexdigest()
                },
            }
            if v.rule in index:
                entry["ruleIndex"] = index[v.rule]
            results.append(entry)
    notifications = [
        {
            "level": "error",
            "message": {"text": e.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(e.source), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(e.line, 1)},
                    }
                }
            ],
        }
        for e in report.errors
    ]
    run = {
        "tool": {
            "driver": {
                "name": "bindcheck",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "invocations": [
            {"executionSuccessful": not report.errors, "toolExecutionNotifications": notifications}
        ],
        "columnKind": "utf16CodeUnits",
        "results": results,
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
