"""``bindcheck resolve``: the routing table per workload, optionally probed."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from webhook.checks.capability import check_capability
from webhook.checks.schema import check_schema, check_spec_gap
from webhook.errors import InputError
from webhook.manifests import Document, documents, identity, locate
from webhook.report.json_format import violation_dict
from webhook.runtime.catalog import Catalog
from webhook.runtime.probes import probe
from webhook.runtime.routes import bind_group, routes_for
from webhook.text import printable


def resolve_paths(
    paths: Iterable[str], catalog: Catalog, do_probe: bool, timeout: float
) -> tuple[list[dict[str, Any]], list[InputError]]:
    """Routing tables of every workload in ``paths``, plus the inputs that could not be read."""
    workloads: list[dict[str, Any]] = []
    errors: list[InputError] = []
    for doc in documents(paths):
        if isinstance(doc, InputError):
            errors.append(doc)
            continue
        table = resolve_document(doc, catalog, do_probe, timeout)
        if table is not None:
            workloads.append(table)
    return workloads, errors


def resolve_document(
    doc: Document, catalog: Catalog, do_probe: bool, timeout: float
) -> dict[str, Any] | None:
    """One workload's routes (the JSON contract's shape); ``None`` for other kinds."""
    ident = identity(doc.obj)
    if ident is None:
        return None
    workload, gap = locate(doc.obj, *ident)
    schema = check_schema(workload)
    if gap is not None:
        violations = [check_spec_gap(gap)]
    else:
        violations = [*schema.violations, *check_capability(workload, schema.entries, catalog)]
    rows = []
    groups = catalog.groups_for(workload.host_selector)
    claims = bind_group(schema.entries, catalog, groups[0]) if groups else []
    for route in routes_for(claims):
        probed = None
        if do_probe:
            ok, detail = probe(route, timeout)
            probed = {"ok": ok, "detail": detail}
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
                "probe": probed,
            }
        )
    return {
        "source": doc.source,
        "line": doc.line,
        "kind": ident[0],
        "name": ident[1],
        "hostGroup": groups[0].name if groups else None,
        "routes": rows,
        "violations": [violation_dict(v) for v in violations],
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
    paths: list[str], catalog: Catalog | None, fmt: str, do_probe: bool, timeout: float
) -> int:
    """Print the tables; exit 1 when a probe failed or a workload cannot bind, 2 on bad input."""
    if catalog is None:
        sys.stderr.write("bindcheck: resolve needs a host catalog; drop --catalog none\n")
        return 2
    workloads, errors = resolve_paths(paths, catalog, do_probe, timeout)
    if fmt == "json":
        sys.stdout.write(json.dumps({"workloads": workloads}, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(workloads))
    for error in errors:
        sys.stderr.write(f"bindcheck: {error}\n")
    if errors:
        return 2
    failed = any(
        (r["probe"] is not None and not r["probe"]["ok"]) for w in workloads for r in w["routes"]
    )
    return 1 if failed or any(w["violations"] for w in workloads) else 0
