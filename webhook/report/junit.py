"""JUnit XML: a test case per object, a failure per denial, so CI dashboards show them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from webhook.report.results import Report
from webhook.text import printable


def render_junit(report: Report) -> str:
    suite = ET.Element(
        "testsuite",
        name="bindcheck",
        tests=str(len(report.results) + len(report.errors)),
        failures=str(report.denied),
        errors=str(len(report.errors)),
        skipped="0",
    )
    for r in report.results:
        o = r.outcome
        source = printable(r.source)  # a file name may hold control characters too
        case = ET.SubElement(
            suite,
            "testcase",
            classname=source,
            name=printable(f"{o.kind}/{o.name}:{r.line}"),
            file=source,
            line=str(r.line),
        )
        if not o.allowed:
            text = "\n".join(
                printable(f"{r.source}:{r.line_of(v)}: {v.render()}") for v in o.denials
            )
            failure = ET.SubElement(
                case, "failure", message=f"{len(o.denials)} violation(s)", type="denied"
            )
            failure.text = text
        if o.warnings:
            ET.SubElement(case, "system-out").text = "\n".join(
                printable(f"warning: {v.render()}") for v in o.warnings
            )
    for e in report.errors:
        case = ET.SubElement(
            suite, "testcase", classname=printable(e.source), name=f"read:{e.line}"
        )
        ET.SubElement(
            case, "error", message=printable(e.message), type="unreadable"
        ).text = printable(str(e))
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
