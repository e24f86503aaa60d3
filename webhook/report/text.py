"""Terminal output: file:line, kind/name, one line per finding, a summary.

Colour only on a terminal (never in a pipe, never with ``NO_COLOR``; decided by the
command line). ``--quiet`` leaves out allowed objects without findings and the
notes about skipped files; ``--verbose`` lists every skipped object too.
"""

from __future__ import annotations

from webhook.report.results import Reporter, Result, SkippedObject, Summary
from webhook.text import printable
from webhook.violations import Action

_COLORS = {"red": "31", "yellow": "33", "green": "32", "cyan": "36", "dim": "2"}
_LABELS = {Action.DENY: ("error", "red"), Action.WARN: ("warning", "yellow"),
           Action.AUDIT: ("audit", "cyan")}  # fmt: skip


class TextReporter(Reporter):
    def _paint(self, text: str, color: str) -> str:
        if not self.options.color:
            return text
        return f"\x1b[{_COLORS[color]}m{text}\x1b[0m"

    def result(self, result: Result) -> None:
        o = result.outcome
        if self.options.quiet and o.allowed and not (o.warnings or o.audits):
            return
        ident = f"{o.kind}/{o.name or '<unnamed>'}" + (
            f" (namespace {o.namespace})" if o.namespace else ""
        )
        verdict = self._paint("allowed", "green") if o.allowed else self._paint("DENIED", "red")
        lines = [f"{printable(f'{_where(result.source, result.line)}: {ident}')}: {verdict}"]
        for violation, line in zip(o.violations, result.lines, strict=True):
            label, color = _LABELS[violation.action]
            where = printable(_where(result.source, line))
            lines.append(f"  {where}: {self._paint(label, color)}: {printable(violation.render())}")
        said = result.admission.sentence() if result.admission is not None else None
        if said is not None:
            lines.append(f"  {self._paint('note', 'dim')}: {said}")
        self.out.write("\n".join(lines) + "\n")

    def finish(self, summary: Summary) -> None:
        lines = [printable(str(error)) for error in summary.errors]
        if not self.options.quiet:
            lines += [
                self._paint(printable(f"note: skipped {source}: {reason}"), "dim")
                for source, reason in summary.skipped_files
            ]
        if self.options.verbose:
            lines += [self._paint(printable(_skipped(s)), "dim") for s in summary.skipped_objects]
            if summary.skipped > len(summary.skipped_objects):
                lines.append(f"note: {summary.skipped - len(summary.skipped_objects)} more skipped")
        lines.append(summary_line(summary))
        self.out.write("\n".join(lines) + "\n")


def _where(source: str, line: int) -> str:
    """``file:line``; a source without lines (a cluster's object) alone."""
    return f"{source}:{line}" if line else source


def _skipped(s: SkippedObject) -> str:
    return (
        f"note: skipped {s.source}:{s.line}: {s.api_version or '<no apiVersion>'} "
        f"{s.kind or '<no kind>'}/{s.name or '<unnamed>'} (not a kind bindcheck judges)"
    )


def summary_line(summary: Summary) -> str:
    """``3 objects checked, 1 denied, 1 with warnings, 2 skipped`` and what could not be read."""
    objects = summary.objects
    text = f"{objects} object{'s' if objects != 1 else ''} checked, {summary.denied} denied"
    if summary.warned:
        text += f", {summary.warned} with warnings"
    text += f", {summary.skipped} skipped"
    if summary.skipped_files:
        count = len(summary.skipped_files)
        text += f", {count} file{'s' if count != 1 else ''} not ours"
    if summary.errors:
        count = len(summary.errors)
        text += f", {count} unreadable input{'s' if count != 1 else ''}"
    return text
