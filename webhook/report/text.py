"""Terminal output: file:line, kind/name, one line per violation, a summary."""

from __future__ import annotations

from webhook.report.results import Report
from webhook.text import printable as _safe
from webhook.violations import Violation


def render_text(report: Report) -> str:
    lines = []
    for result in report.results:
        o = result.outcome
        ident = f"{o.kind}/{o.name or '<unnamed>'}" + (
            f" (namespace {o.namespace})" if o.namespace else ""
        )
        verdict = "allowed" if o.allowed else "DENIED"
        lines.append(_safe(f"{result.source}:{result.line}: {ident}: {verdict}"))
        shown: list[tuple[str, Violation]] = [("error", v) for v in o.denials]
        shown += [("warning", v) for v in o.warnings]
        for label, v in shown:
            lines.append(_safe(f"  {result.source}:{result.line_of(v)}: {label}: {v.render()}"))
    for error in report.errors:
        lines.append(_safe(f"{error}"))
    objects = len(report.results)
    summary = (
        f"{objects} object{'s' if objects != 1 else ''} checked, {report.denied} denied, "
        f"{report.skipped} skipped"
    )
    if report.errors:
        summary += (
            f", {len(report.errors)} unreadable input{'s' if len(report.errors) != 1 else ''}"
        )
    lines.append(summary)
    return "\n".join(lines) + "\n"
