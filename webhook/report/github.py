"""GitHub Actions annotations: one workflow command a finding, no SARIF upload needed.

``::error file=F,line=L,title=T::MESSAGE`` puts the finding on the line of the pull
request's diff (denials ``error``, warnings ``warning``, audits ``notice``). Every value
is escaped the way GitHub's own toolkit escapes it (actions/toolkit
packages/core/src/command.ts, escapeData and escapeProperty): a newline or ``::`` in a
user's value cannot end the command or start another. Paths are made relative to the
working directory, the repository root a workflow runs in.
"""

from __future__ import annotations

import os

from webhook.report.results import Reporter, Result, Summary
from webhook.report.text import summary_line
from webhook.text import clipped
from webhook.violations import Action

_LEVEL = {Action.DENY: "error", Action.WARN: "warning", Action.AUDIT: "notice"}
MAX_MESSAGE = 4000
"""Characters of one annotation's message: GitHub keeps the first few thousand."""


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _path(source: str) -> str:
    if source == "<stdin>":
        return source
    relative = os.path.relpath(source)
    return source if relative.startswith("..") else relative


def command(level: str, message: str, source: str, line: int, title: str = "") -> str:
    props = f"file={escape_property(_path(source))},line={max(line, 1)}"
    if title:
        props += f",title={escape_property(title)}"
    return f"::{level} {props}::{escape_data(clipped(message, MAX_MESSAGE))}"


class GithubReporter(Reporter):
    def result(self, result: Result) -> None:
        o = result.outcome
        for v, line in zip(o.violations, result.lines, strict=True):
            title = f"bindcheck {v.rule}: {o.kind}/{o.name or '<unnamed>'}"
            message = f"{v.field}: {v.reason.label}: {v.message}"
            self.out.write(command(_LEVEL[v.action], message, result.source, line, title) + "\n")

    def finish(self, summary: Summary) -> None:
        for error in summary.errors:
            self.out.write(command("error", error.message, error.source, error.line) + "\n")
        for source, reason in summary.skipped_files:
            self.out.write(command("notice", f"skipped: {reason}", source, 1) + "\n")
        self.out.write(escape_data(summary_line(summary)) + "\n")
