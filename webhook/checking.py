"""``bindcheck check`` without the command line: paths in, a Report out."""

from __future__ import annotations

from collections.abc import Iterable

from webhook.core import Validator
from webhook.errors import InputError
from webhook.manifests import expand_paths, read_path
from webhook.report.results import Report, Result


def check_paths(paths: Iterable[str], validator: Validator) -> Report:
    """Check every document of every path; an unreadable file is recorded and the rest go on."""
    report = Report(rules=validator.rule_descriptions)
    for path in expand_paths(paths):
        try:
            for doc in read_path(path):
                outcome = validator.check(doc.obj)
                if outcome is None:
                    report.skipped += 1
                else:
                    report.results.append(Result(doc, outcome))
        except InputError as exc:
            report.errors.append(exc)
    return report
