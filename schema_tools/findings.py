"""Findings and the reports that carry them, with renderers: text, JSON, JUnit, SARIF, GitHub.

A ``Report`` lists every ``Check`` that ran (a JUnit testcase each, passed or not) and the
findings each produced; the exit code follows from the findings' severities.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from xml.etree import ElementTree as ET

FORMATS = ("text", "json", "junit", "github", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


class Severity(str, Enum):
    """How much a finding matters: errors fail the run (exit 1), the rest are reported."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, what is wrong, on what, and how to fix it."""

    rule: str
    message: str
    severity: Severity = Severity.ERROR
    object: str = ""
    hint: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def location(self) -> str:
        """``file:line:col`` where known, else the object's name."""
        if self.file:
            return ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        return self.object


@dataclass(frozen=True)
class Check:
    """One thing that was checked (an expectation, an invariant, a rule on a file)."""

    name: str
    group: str
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Report:
    """Everything one command checked."""

    tool: str
    checks: tuple[Check, ...] = ()
    rule_help: dict[str, str] = field(default_factory=dict)
    layout: str = "grouped"  # or "flat": one file:line:col line per finding

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def render(report: Report, fmt: str) -> str:
    """The report in one of ``FORMATS``."""
    return {"text": render_text, "json": render_json, "junit": render_junit,
            "github": render_github, "sarif": render_sarif}[fmt](report)


def _summary(report: Report) -> str:
    counts = {s: sum(1 for f in report.findings if f.severity is s) for s in Severity}
    parts = [f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
    return f"{report.tool}: {len(report.checks)} checks, " + (", ".join(parts) if parts else "no problems")


def render_text(report: Report) -> str:
    """Human text. Flat reports (lint): ``file:line:col: severity RULE: message``, one per line.
    Grouped reports (verify, validate): findings under the table or group they concern."""
    lines: list[str] = []
    groups: dict[str, list[Finding]] = {}
    for check in report.checks:
        for f in check.findings:
            key = "" if report.layout == "flat" else check.group
            groups.setdefault(key, []).append(f)
    for group, items in groups.items():
        if group:
            lines.append(group)
        indent = "  " if group else ""
        for f in items:
            where = f"{f.location()}: " if report.layout == "flat" else ""
            lines.append(f"{indent}{where}{f.severity.value} {f.rule}: {f.message}")
            if f.hint:
                lines.append(f"{indent}    fix: {f.hint}")
            if report.layout != "flat" and f.file:
                lines.append(f"{indent}    at: {f.location()}")
    lines.append(_summary(report))
    return "\n".join(lines)


def render_json(report: Report) -> str:
    """Machine JSON: the checks, each with its findings, and a summary."""
    def finding(f: Finding) -> dict[str, object]:
        data = {k: v for k, v in asdict(f).items() if v not in (None, "")}
        data["severity"] = f.severity.value
        return data

    return json.dumps({
        "tool": report.tool,
        "ok": report.exit_code == 0,
        "summary": _summary(report),
        "checks": [{"name": c.name, "group": c.group, "passed": not any(f.severity is Severity.ERROR for f in c.findings),
                    "findings": [finding(f) for f in c.findings]} for c in report.checks],
    }, indent=2)


def render_junit(report: Report) -> str:
    """JUnit XML: one testcase per check, failed when it has an error."""
    suites = ET.Element("testsuites")
    failures = sum(1 for c in report.checks if any(f.severity is Severity.ERROR for f in c.findings))
    suite = ET.SubElement(suites, "testsuite", name=f"schema-tools {report.tool}",
                          tests=str(len(report.checks)), failures=str(failures), errors="0", skipped="0")
    for check in report.checks:
        case = ET.SubElement(suite, "testcase", classname=check.group, name=check.name)
        errors = [f for f in check.findings if f.severity is Severity.ERROR]
        if errors:
            failure = ET.SubElement(case, "failure", message=errors[0].message, type=errors[0].rule)
            failure.text = "\n".join(f"{f.rule}: {f.message}" + (f" (fix: {f.hint})" if f.hint else "") for f in errors)
        others = [f for f in check.findings if f.severity is not Severity.ERROR]
        if others:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"{f.severity.value} {f.rule}: {f.message}" for f in others)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    """GitHub Actions workflow commands: ``::error file=...,line=...::message``."""
    lines = []
    for f in report.findings:
        level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}[f.severity]
        props = []
        if f.file:
            props.append(f"file={_escape_property(f.file)}")
            if f.line is not None:
                props.append(f"line={f.line}")
            if f.column is not None:
                props.append(f"col={f.column}")
        props.append(f"title={_escape_property(f.rule + (' ' + f.object if f.object else ''))}")
        message = f.message + (f" -- fix: {f.hint}" if f.hint else "")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(message)}")
    return "\n".join(lines)


def _sarif_rules(report: Report, rules: Iterable[str]) -> list[dict[str, object]]:
    return [{"id": r, "shortDescription": {"text": report.rule_help.get(r, r)}} for r in rules]


def render_sarif(report: Report) -> str:
    """SARIF 2.1.0 for code-scanning tools."""
    rules = sorted({f.rule for f in report.findings} | set(report.rule_help))
    results = []
    for f in report.findings:
        result: dict[str, object] = {
            "ruleId": f.rule,
            "ruleIndex": rules.index(f.rule),
            "level": f.severity.value,
            "message": {"text": f.message + (f" Fix: {f.hint}" if f.hint else "")},
        }
        if f.file:
            region = {"startLine": f.line or 1}
            if f.column:
                region["startColumn"] = f.column
            result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": f.file}, "region": region}}]
        elif f.object:
            result["locations"] = [{"logicalLocations": [{"fullyQualifiedName": f.object}]}]
        results.append(result)
    return json.dumps({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "schema-tools", "rules": _sarif_rules(report, rules)}},
            "results": results,
        }],
    }, indent=2)
