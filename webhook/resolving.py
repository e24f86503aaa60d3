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
from webhook.report.safe import printable
from webhook.runtime.catalog import Catalog
from webhook.runtime.probes import probe
from webhook.runtime.routes import routes_for


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
    for route in routes_for(schema.entries, catalog, workload.host_selector):
        probed = None
        if do_probe:
            ok, detail = probe(route, timeout)
            probed = {"ok": ok, "detail": detail}
        rows.append(
            {
                "index": route.entry.index,
                "instance": route.instance,
                "name": route.name,
                "plugin": route.plugin,
                "backend": route.backend,
                "settings": route.settings,
                "probe": probed,
            }
        )
    return {
        "source": doc.source,
        "line": doc.line,
        "kind": ident[0],
        "name": ident[1],
        "routes": rows,
        "violations": [violation_dict(v) for v in violations],
    }


def render_text(workloads: list[dict[str, Any]]) -> str:
    lines = []
    for w in workloads:
        lines.append(f"{w['source']}:{w['line']}: {w['kind']}/{w['name']}")
        for r in w["routes"]:
            name = r["name"] or "(default route)"
            target = f"{r['plugin'] or 'NO PLUGIN'}" + (
                f" -> {r['backend']}" if r["backend"] else ""
            )
            settings = " ".join(f"{k}={v}" for k, v in r["settings"].items() if k != "backend")
            probe_text = ""
            if r["probe"] is not None:
                probe_text = (
                    ("  [ok: " if r["probe"]["ok"] else "  [FAILED: ") + r["probe"]["detail"] + "]"
                )
            lines.append(
                f"  [{r['index']}] {r['instance']:<40} {name:<16} {target}"
                + (f"  {settings}" if settings else "")
                + probe_text
            )
        for v in w["violations"]:
            lines.append(f"  [{v['rule']}] {v['field']}: {v['message']}")
    return "\n".join(printable(line) for line in lines) + "\n"


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
