"""SARIF 2.1.0 for code-scanning tools."""

from __future__ import annotations

import json
from collections.abc import Iterable

from .model import Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


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
