"""``bindcheck resolve``: the routing table per workload, optionally probed."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from webhook.api_server import Explain
from webhook.core import Validator
from webhook.errors import InputError
from webhook.inputs import Inputs, Skipped, documents
from webhook.manifests import Document
from webhook.report.json_format import admission_dict, violation_dict
from webhook.runtime.probes import probe_all
from webhook.runtime.routes import Route, routes_for
from webhook.text import printable


def resolve_paths(
    inputs: Inputs,
    validator: Validator,
    do_probe: bool,
    timeout: float,
    explain: Explain | None = None,
) -> tuple[list[dict[str, Any]], list[InputError]]:
    """Routing tables of every workload in the inputs, plus the inputs that could not be
    read. With ``do_probe`` every route of every workload is probed at once, under one
    deadline of ``timeout`` seconds."""
    workloads: list[dict[str, Any]] = []
    errors: list[InputError] = []
    routes: list[Route] = []
    for doc in documents(inputs):
        if isinstance(doc, InputError):
            errors.append(doc)
            continue
        if isinstance(doc, Skipped):
            continue
        table = resolve_document(doc, validator, routes, explain)
        if table is not None:
            workloads.append(table)
    if do_probe:
        results = iter(probe_all(routes, timeout))
        for w in workloads:
            for row in w["routes"]:
                found = next(results)
                row["probe"] = None if found is None else {"ok": found.ok, "detail": found.detail}
    return workloads, errors


def resolve_document(
    doc: Document, validator: Validator, routes: list[Route], explain: Explain | None = None
) -> dict[str, Any] | None:
    """One workload's routes (the JSON contract's shape), appended to ``routes`` too;
    ``None`` for other kinds. The violations are ``check``'s, from the same pipeline."""
    examined = validator.examine(doc.obj)
    hosts = validator.hosts
    if examined is None or hosts is None:
        return None
    workload, outcome = examined.workload, examined.outcome
    rows = []
    groups = hosts.groups_for(workload.host_selector)
    claims = hosts.binder(groups[0]).bind(examined.entries) if groups else []
    for route in routes_for(claims):
        routes.append(route)
        rows.append(
            {
                "index": route.entry.index,
                "instance": route.instance,
                "name": route.name,
                "servedBy": route.served_by,
                "plugin": route.plugin,
                "backend": route.backend,
                "settings": route.settings,
                "ignored": route.ignored,
                "probe": None,
            }
        )
    return {
        "source": doc.source,
        "line": doc.line,
        "kind": outcome.kind,
        "name": outcome.name,
        "hostGroup": groups[0].name if groups else None,
        "routes": rows,
        "violations": [{**violation_dict(v), "action": v.action.value} for v in outcome.violations],
        "apiServer": admission_dict(explain(outcome) if explain is not None else None),
    }


def render_text(workloads: list[dict[str, Any]]) -> str:
    lines = []
    for w in workloads:
        group = f" (host group {w['hostGroup']})" if w["hostGroup"] else " (no host group)"
        lines.append(f"{w['source']}:{w['line']}: {w['kind']}/{w['name']}{group}")
        for r in w["routes"]:
            lines.append("  " + _route_line(r))
        for v in w["violations"]:
            lines.append(f"  [{v['rule']}] {v['field']}: {v['message']}")
        if w["apiServer"] is not None and w["apiServer"]["said"] is not None:
            lines.append(f"  note: {w['apiServer']['said']}")
    if any(w["routes"] for w in workloads):
        lines.append(ASSUMPTION)
    return "\n".join(printable(line) for line in lines) + "\n"


ASSUMPTION = (
    "(assumes every entry is imported or exported by a component: a host binds only "
    "those, and a manifest does not say which they are)"
)


def _route_line(r: dict[str, Any]) -> str:
    name = r["name"] or "(default route)"
    if r["servedBy"] == "host":
        target = "served by the host"
    elif r["plugin"] is None:
        target = "NO PLUGIN: the deploy fails"
    else:
        target = r["plugin"] + (f" -> {r['backend']}" if r["backend"] else "")
    settings = " ".join(f"{k}={v}" for k, v in r["settings"].items() if k != "backend")
    text = f"[{r['index']}] {r['instance']:<40} {name:<16} {target}"
    if settings:
        text += f"  {settings}"
    if r["ignored"]:
        text += f"  (ignored: {', '.join(r['ignored'])})"
    probe = r["probe"]
    if probe is not None:
        text += ("  [ok: " if probe["ok"] else "  [FAILED: ") + probe["detail"] + "]"
    return text


def run_resolve(
    inputs: Inputs,
    validator: Validator,
    fmt: str,
    do_probe: bool,
    timeout: float,
    out: TextIO,
    explain: Explain | None = None,
) -> int:
    """Write the tables; exit 1 when a probe failed or a workload cannot bind, 2 on bad input."""
    workloads, errors = resolve_paths(inputs, validator, do_probe, timeout, explain)
    if fmt == "json":
        unread = [{"source": e.source, "line": e.line, "message": e.message} for e in errors]
        out.write(json.dumps({"workloads": workloads, "errors": unread}, indent=2) + "\n")
    else:
        out.write(render_text(workloads))
    for error in errors:
        sys.stderr.write(f"bindcheck: {error}\n")
    if errors:
        return 2
    failed = any(
        (r["probe"] is not None and not r["probe"]["ok"]) for w in workloads for r in w["routes"]
    )
    # A warning leaves the workload bindable: only a denial means the deploy fails.
    denied = any(v["action"] == "deny" for w in workloads for v in w["violations"])
    return 1 if failed or denied else 0
