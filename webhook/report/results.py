"""What a check run produces, and the one interface every output format implements.

Results stream: each object's outcome goes to the reporter as soon as it is known,
with the source line of every violation already looked up, so nothing holds a
document once it is checked and memory stays flat however many documents a run
reads. The exit code is decided in one place, :meth:`Summary.exit_code`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from webhook.core import Outcome
from webhook.errors import InputError
from webhook.violations import Violation

EXIT_OK, EXIT_DENIED, EXIT_WARNED, EXIT_INPUT = 0, 1, 1, 2


@dataclass(slots=True)
class Result:
    """The outcome of one object, with where it and each of its violations came from."""

    source: str
    line: int
    outcome: Outcome
    lines: tuple[int, ...]
    """The source line of each of ``outcome.violations``, in order."""

    def line_of(self, violation: Violation) -> int:
        for v, line in zip(self.outcome.violations, self.lines, strict=True):
            if v is violation:
                return line
        return self.line


@dataclass(slots=True)
class Summary:
    """Counts of a run, and the inputs it could not use."""

    objects: int = 0
    denied: int = 0
    warned: int = 0
    skipped: int = 0
    """Objects of other kinds."""
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    """Files that are not manifests of ours: (source, reason)."""
    errors: list[InputError] = field(default_factory=list)

    def exit_code(self, fail_on_warnings: bool = False) -> int:
        """2 when a manifest could not be read, else 1 when something was denied (or
        warned, with ``fail_on_warnings``), else 0."""
        if self.errors:
            return EXIT_INPUT
        if self.denied or (fail_on_warnings and self.warned):
            return EXIT_DENIED
        return EXIT_OK


@dataclass(slots=True)
class Options:
    """How a report reads: what to leave out, whether to colour."""

    quiet: bool = False
    """Only denied objects (and warnings) and the summary."""
    color: bool = False


class Reporter:
    """One output format: called as the run goes, writes to ``out``."""

    def __init__(self, out: TextIO, rules: dict[str, str], options: Options | None = None):
        self.out = out
        self.rules = rules
        """Rule id → description, for formats that carry a rules table."""
        self.options = options or Options()

    def result(self, result: Result) -> None:
        """One checked object."""

    def finish(self, summary: Summary) -> None:
        """The run is over: errors, skipped files and counts are final."""


@dataclass(slots=True)
class Report:
    """Everything a run produced, kept: for library users and tests (memory grows with
    the run; the command line streams instead)."""

    results: list[Result] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)

    @property
    def errors(self) -> list[InputError]:
        return self.summary.errors

    @property
    def skipped(self) -> int:
        return self.summary.skipped

    @property
    def denied(self) -> int:
        return self.summary.denied

    def exit_code(self) -> int:
        return self.summary.exit_code()


class Collector(Reporter):
    """A reporter that keeps every result in a :class:`Report`."""

    def __init__(self) -> None:
        super().__init__(out=None, rules={})  # type: ignore[arg-type]
        self.report = Report()

    def result(self, result: Result) -> None:
        self.report.results.append(result)

    def finish(self, summary: Summary) -> None:
        self.report.summary = summary
