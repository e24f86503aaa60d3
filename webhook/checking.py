"""``bindcheck check`` without the command line: inputs in, results streamed to a reporter."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterable

from webhook.api_server import Explain
from webhook.core import Judge, Validator
from webhook.errors import InputError
from webhook.inputs import Inputs, Skipped, documents
from webhook.manifests import Document
from webhook.report.results import Collector, Report, Reporter, Result, Summary


def run_check(
    inputs: Inputs, validator: Judge, reporter: Reporter, explain: Explain | None = None
) -> Summary:
    """Check every document of the inputs; each result goes to ``reporter`` as it comes."""
    return run_documents(documents(inputs), validator, reporter, explain)


def run_documents(
    docs: Iterable[Document | InputError | Skipped],
    validator: Judge,
    reporter: Reporter,
    explain: Explain | None = None,
) -> Summary:
    """Check documents from anywhere (files, a cluster); results go to ``reporter``."""
    # Parsing makes many short-lived, acyclic objects; the default collector
    # thresholds spend a third of the run rescanning them. Collect less often.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)
    try:
        summary = _check_all(docs, validator, reporter, explain)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    reporter.finish(summary)
    return summary


def _check_all(
    docs: Iterable[Document | InputError | Skipped],
    validator: Judge,
    reporter: Reporter,
    explain: Explain | None,
) -> Summary:
    summary = Summary()
    for doc in docs:
        if isinstance(doc, InputError):
            summary.errors.append(doc)
            continue
        if isinstance(doc, Skipped):
            summary.skipped_files.append((doc.source, doc.reason))
            summary.skipped_ours += doc.ours
            continue
        outcome = validator.check(doc.obj)
        if outcome is None:
            summary.skip(doc.source, doc.line, doc.obj)
            continue
        summary.objects += 1
        if not outcome.allowed:
            summary.denied += 1
        elif outcome.warnings:
            summary.warned += 1
        # Lines are looked up now, so nothing keeps the document once it is reported;
        # findings go out in line order (stable: one line's keep the checks' order).
        found = sorted(
            ((doc.line_of(v.field), v) for v in outcome.violations), key=lambda pair: pair[0]
        )
        outcome = dataclasses.replace(outcome, violations=tuple(v for _, v in found))
        lines = tuple(line for line, _ in found)
        admission = explain(outcome) if explain is not None else None
        reporter.result(Result(doc.source, doc.line, outcome, lines, admission))
    return summary


def check_paths(paths: Iterable[str], validator: Validator) -> Report:
    """Check paths and keep every result (a library call; the command line streams)."""
    collector = Collector()
    run_check(Inputs(list(paths)), validator, collector)
    return collector.report
