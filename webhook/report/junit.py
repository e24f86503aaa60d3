"""JUnit XML: a test case per object, a failure per denial, so CI dashboards show them.

The suite's counts come first in the XML, so test cases are spooled (in memory up to
8 MiB, then on disk) until the run ends. Every user string is escaped: XML 1.0 has
no way to carry control characters, even as references.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from typing import IO

from webhook.report.results import Reporter, Result, Summary
from webhook.text import printable


class JunitReporter(Reporter):
    _cases: IO[str] | None = None

    def _spool(self) -> IO[str]:
        if self._cases is None:
            self._cases = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+")  # noqa: SIM115 - closed in finish
        return self._cases

    def _write(self, case: ET.Element) -> None:
        ET.indent(case, level=2)
        self._spool().write("    " + ET.tostring(case, encoding="unicode").rstrip() + "\n")

    def result(self, result: Result) -> None:
        o = result.outcome
        source = printable(result.source)
        case = ET.Element(
            "testcase",
            classname=source,
            name=printable(f"{o.kind}/{o.name}:{result.line}"),
            file=source,
            line=str(result.line),
        )
        pairs = list(zip(o.violations, result.lines, strict=True))
        if not o.allowed:
            failure = ET.SubElement(
                case, "failure", message=f"{len(o.denials)} violation(s)", type="denied"
            )
            failure.text = "\n".join(
                printable(f"{result.source}:{line}: {v.render()}")
                for v, line in pairs
                if v in o.denials
            )
        others = [(v, line) for v, line in pairs if v not in o.denials]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(
                printable(f"{v.action.value}: {result.source}:{line}: {v.render()}")
                for v, line in others
            )
        self._write(case)

    def finish(self, summary: Summary) -> None:
        for error in summary.errors:
            case = ET.Element(
                "testcase", classname=printable(error.source), name=f"read:{error.line}"
            )
            ET.SubElement(
                case, "error", message=printable(error.message), type="unreadable"
            ).text = printable(str(error))
            self._write(case)
        suite = ET.Element(
            "testsuite",
            name="bindcheck",
            tests=str(summary.objects + len(summary.errors)),
            failures=str(summary.denied),
            errors=str(len(summary.errors)),
            skipped="0",
        )
        opening = ET.tostring(suite, encoding="unicode").replace(" />", ">")
        self.out.write(f"<?xml version='1.0' encoding='utf-8'?>\n<testsuites>\n  {opening}\n")
        if self._cases is not None:
            self._cases.seek(0)
            for line in self._cases:
                self.out.write(line)
            self._cases.close()
        self.out.write("  </testsuite>\n</testsuites>\n")
