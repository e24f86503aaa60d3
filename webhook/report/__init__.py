"""Rendering outcomes at the edge: one module per format behind one interface, a
:class:`Reporter` that receives results as the run goes."""

from __future__ import annotations

from webhook.report.github import GithubReporter
from webhook.report.json_format import JsonReporter
from webhook.report.junit import JunitReporter
from webhook.report.results import Options, Report, Reporter, Result, Summary
from webhook.report.sarif import SarifReporter
from webhook.report.text import TextReporter

FORMATS: dict[str, type[Reporter]] = {
    "text": TextReporter,
    "json": JsonReporter,
    "junit": JunitReporter,
    "sarif": SarifReporter,
    "github": GithubReporter,
}

__all__ = ["FORMATS", "Options", "Report", "Reporter", "Result", "Summary"]
