"""SARIF 2.1.0 for code-scanning tools: a rules table, results with physical locations.

Denials are ``error``, warnings ``warning``, audits ``note``. Each result points
at the line of the offending field (not just the document) and carries the
field path as a logical location and a fingerprint that survives line shifts.
Written as the run goes: the rules table first, then each result.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from webhook import __version__
from webhook.report.results import Reporter, Result, Summary
from webhook.violations import Action

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Action.DENY: "error", Action.WARN: "warning", Action.AUDIT: "note"}


def _uri(source: str, root: Path) -> tuple[str, bool]:
    """A file's URI and whether it is relative to ``root`` (``%SRCROOT%``, the working
    directory): code-scanning tools place results only by a repository-relative path,
    so a file under the working directory is named relative to it however it was
    given, and one outside it (``../x``, ``/tmp/x``) by its absolute ``file:`` URI,
    which takes no base."""
    if source == "<stdin>":
        return "stdin", True
    path = Path(os.path.abspath(source))
    try:
        relative = path.relative_to(root)
    except ValueError:
        return path.as_uri(), False
    return quote(relative.as_posix().encode("utf-8", "surrogateescape"), safe="/"), True


def _location(source: str, line: int, root: Path) -> dict[str, Any]:
    uri, relative = _uri(source, root)
    artifact = {"uri": uri, "uriBaseId": "%SRCROOT%"} if relative else {"uri": uri}
    return {
        "physicalLocation": {"artifactLocation": artifact, "region": {"startLine": max(line, 1)}}
    }


class SarifReporter(Reporter):
    _started = False

    def _start(self) -> None:
        self._root = Path.cwd()
        rule_ids = sorted(self.rules)
        self._index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
        rules = [
            {
                "id": rule_id,
                "name": "".join(part.title() for part in rule_id.split("-")),
                "shortDescription": {"text": self.rules[rule_id]},
                "defaultConfiguration": {"level": "error"},
                "properties": {"tags": ["kubernetes", "wasmcloud"]},
            }
            for rule_id in rule_ids
        ]
        driver = {"name": "bindcheck", "version": __version__, "semanticVersion": __version__,
                  "rules": rules}  # fmt: skip
        head = json.dumps({"$schema": SCHEMA, "version": "2.1.0"})[:-1]
        tool = json.dumps({"driver": driver})
        base = json.dumps({"%SRCROOT%": {"uri": self._root.as_uri() + "/"}})
        self.out.write(f'{head}, "runs": [{{"tool": {tool}, "originalUriBaseIds": {base}, ')
        self.out.write('"columnKind": "utf16CodeUnits", ')
        self.out.write('"results": [\n')
        self._started = True
        self._first = True

    def result(self, result: Result) -> None:
        if not self._started:
            self._start()
        o = result.outcome
        uri = _uri(result.source, self._root)[0]
        for v, line in zip(o.violations, result.lines, strict=True):
            entry: dict[str, Any] = {
                "ruleId": v.rule,
                "level": _LEVEL[v.action],
                "message": {"text": f"{v.field}: {v.reason.label}: {v.message}"},
                "locations": [
                    {
                        **_location(result.source, line, self._root),
                        "logicalLocations": [
                            {"fullyQualifiedName": f"{o.kind}/{o.name}.{v.field}", "kind": "member"}
                        ],
                    }
                ],
                "partialFingerprints": {
                    "bindcheck/v1": hashlib.sha256(
                        f"{uri}|{o.kind}|{o.name}|{v.field}|{v.rule}".encode(
                            "utf-8", "surrogatepass"
                        )
                    ).hexdigest()
                },
            }
            if v.rule in self._index:
                entry["ruleIndex"] = self._index[v.rule]
            self.out.write(("" if self._first else ",\n") + json.dumps(entry))
            self._first = False

    def finish(self, summary: Summary) -> None:
        if not self._started:
            self._start()
        notifications = [
            {
                "level": "error",
                "message": {"text": e.message},
                "locations": [_location(e.source, e.line, self._root)],
            }
            for e in summary.errors
        ]
        notifications += [
            {"level": "note", "message": {"text": f"skipped: {reason}"},
             "locations": [_location(source, 1, self._root)]}
            for source, reason in summary.skipped_files
        ]  # fmt: skip
        invocation = {"executionSuccessful": not summary.errors,
                      "toolExecutionNotifications": notifications}  # fmt: skip
        self.out.write(f'\n], "invocations": [{json.dumps(invocation)}]}}]}}\n')
