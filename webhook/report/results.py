"""What a check run produces, and the one interface every output format implements.

Results stream: each object's outcome goes to the reporter as soon as it is known,
with the source line of every violation already looked up, so nothing holds a
document once it is checked and memory stays flat however many documents a run
reads. The exit code is decided in one place, :meth:`Summary.exit_code`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from webhook.api_server import Admission
from webhook.core import Outcome
from webhook.errors import InputError
from webhook.text import clipped
from webhook.violations import Violation

EXIT_OK, EXIT_DENIED, EXIT_WARNED, EXIT_INPUT = 0, 1, 1, 2
MAX_LISTED_SKIPS = 10_000
"""Skipped objects listed by name; past this many a run only counts them (memory stays
bounded on a cluster dump of a million objects)."""


@dataclass(slots=True)
class Result:
    """The outcome of one object, with where it and each of its violations came from."""

    source: str
    line: int
    outcome: Outcome
    lines: tuple[int, ...]
    """The source line of each of ``outcome.violations``, in order."""
    admission: Admission | None = None
    """What the API server and the host make of it (webhook/api_server.py), when known."""

    def line_of(self, violation: Violation) -> int:
        for v, line in zip(self.outcome.violations, self.lines, strict=True):
            if v is violation:
                return line
        return self.line


@dataclass(frozen=True, slots=True)
class SkippedObject:
    """An object of a kind bindcheck does not judge, as listed: values clipped, not
    escaped (each format escapes them its own way)."""

    source: str
    line: int
    api_version: str
    kind: str
    name: str

    @classmethod
    def of(cls, source: str, line: int, obj: object) -> SkippedObject:
        fields = obj if isinstance(obj, dict) else {}
        meta = fields.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        return cls(
            source, line, *(_text(v) for v in (fields.get("apiVersion"), fields.get("kind"), name))
        )


def _text(value: object) -> str:
    return clipped(value, 128) if isinstance(value, str) else ""


@dataclass(slots=True)
class Summary:
    """Counts of a run, and the inputs it could not use."""

    objects: int = 0
    denied: int = 0
    warned: int = 0
    skipped: int = 0
    """Objects of other kinds."""
    skipped_objects: list[SkippedObject] = field(default_factory=list)
    """The first :data:`MAX_LISTED_SKIPS` of them."""
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    """Files that are not manifests of ours: (source, reason)."""
    skipped_ours: int = 0
    """Of them, templates and patches that name our API group (``--fail-on-skipped``)."""
    errors: list[InputError] = field(default_factory=list)

    def skip(self, source: str, line: int, obj: object) -> None:
        """Count an object of a kind bindcheck does not judge, and list the first ones."""
        self.skipped += 1
        if len(self.skipped_objects) < MAX_LISTED_SKIPS:
            self.skipped_objects.append(SkippedObject.of(source, line, obj))

    def exit_code(self, fail_on_warnings: bool = False, fail_on_skipped: bool = False) -> int:
        """2 when a manifest could not be read, else 1 when something was denied (or
        warned, with ``fail_on_warnings``; or a template or patch of our kinds was
        skipped, with ``fail_on_skipped``), else 0."""
        if self.errors:
            return EXIT_INPUT
        if self.denied or (fail_on_warnings and self.warned):
            return EXIT_DENIED
        if fail_on_skipped and self.skipped_ours:
            return EXIT_DENIED
        return EXIT_OK


@dataclass(slots=True)
class Options:
    """How a report reads: what to leave out, whether to colour."""

    quiet: bool = False
    """Only denied objects (and warnings) and the summary."""
    verbose: bool = False
    """Also every skipped object, by file, line, apiVersion, kind and name."""
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
