"""``bindcheck check`` without the command line: paths in, a Report out."""

from __future__ import annotations

import gc
from collections.abc import Iterable

from webhook.core import Validator
from webhook.errors import InputError
from webhook.manifests import documents
from webhook.report.results import Report, Result


def check_paths(paths: Iterable[str], validator: Validator) -> Report:
    """Check every document of every path; an unreadable file is recorded and the rest go on."""
    report = Report(rules=validator.rule_descriptions)
    # Parsing makes many short-lived, acyclic objects; the default collector
    # thresholds spend a third of the run rescanning them. Collect less often.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)
    try:
        _check_all(paths, validator, report)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    return report


def _check_all(paths: Iterable[str], validator: Validator, report: Report) -> None:
    for doc in documents(paths):
        if isinstance(doc, InputError):
            report.errors.append(doc)
            continue
        outcome = validator.check(doc.obj)
        if outcome is None:
            report.skipped += 1
            continue
        if not outcome.violations:
            doc.node = doc.obj = None  # kept only to locate violations
        report.results.append(Result(doc, outcome))
