"""Rendering outcomes at the edge: one module per format behind one function signature."""

from __future__ import annotations

from collections.abc import Callable

from webhook.report.json_format import render_json
from webhook.report.junit import render_junit
from webhook.report.results import Report, Result
from webhook.report.sarif import render_sarif
from webhook.report.text import render_text

Renderer = Callable[[Report], str]
FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "sarif": render_sarif,
}

__all__ = ["FORMATS", "Renderer", "Report", "Result"]
