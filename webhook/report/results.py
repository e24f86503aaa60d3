"""What a check run produced: results per object, unreadable inputs, counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from webhook.core import Outcome
from webhook.errors import InputError
from webhook.manifests import Document
from webhook.violations import Violation


@dataclass(slots=True)
class Result:
    """The outcome of one object, with where it came from."""

    doc: Document
    outcome: Outcome

    @property
    def source(self) -> str:
        return self.doc.source

    @property
    def line(self) -> int:
        return self.doc.line

    def line_of(self, violation: Violation) -> int:
        """The line of the violation's field in the source (document line if unknown)."""
        return self.doc.line_of(violation.field)


@dataclass(slots=True)
class Report:
    results: list[Result] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    skipped: int = 0
    rules: dict[str, str] = field(default_factory=dict)
    """Rule id → description, for formats that carry a rules table (SARIF)."""

    @property
    def denied(self) -> int:
        return sum(1 for r in self.results if not r.outcome.allowed)

    def exit_code(self) -> int:
        """2 when any input was unreadable, else 1 when anything was denied, else 0."""
        if self.errors:
            return 2
        return 1 if self.denied else 0
