"""JUnit XML: one testcase per check, failed when it has an error."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from .model import Report, Severity


def render_junit(report: Report) -> str:
    """JUnit XML: one testcase per check, failed when it has an error."""
    suites = ET.Element("testsuites")
    failures = sum(1 for c in report.checks if any(f.severity is Severity.ERROR for f in c.findings))
    skipped = sum(1 for c in report.checks if c.skipped and not any(f.severity is Severity.ERROR for f in c.findings))
    suite = ET.SubElement(suites, "testsuite", name=f"schema-tools {report.tool}",
                          tests=str(len(report.checks)), failures=str(failures), errors="0", skipped=str(skipped))
    for check in report.checks:
        case = ET.SubElement(suite, "testcase", classname=check.group, name=check.name)
        errors = [f for f in check.findings if f.severity is Severity.ERROR]
        if errors:
            failure = ET.SubElement(case, "failure", message=errors[0].message, type=errors[0].rule)
            failure.text = "\n".join(f"{f.rule}: {f.message}" + (f" (fix: {f.hint})" if f.hint else "")
                                     + "".join(f"\n  {d}" for d in f.detail) for f in errors)
        elif check.skipped:
            ET.SubElement(case, "skipped", message=check.skipped)
        others = [f for f in check.findings if f.severity is not Severity.ERROR]
        if others:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"{f.severity.value} {f.rule}: {f.message}" for f in others)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")
