"""Machine JSON: the checks, each with its findings, and a summary."""

from __future__ import annotations

import json
from dataclasses import asdict

from .model import Finding, Report, summary_line


def report_data(report: Report) -> dict[str, object]:
    """The report as JSON data: ``tool``, ``ok``, ``summary`` and the ``checks`` with their findings
    (what ``render_json`` prints, for output that embeds a report)."""
    def finding(f: Finding) -> dict[str, object]:
        data = {k: v for k, v in asdict(f).items() if v not in (None, "", ())}
        data["severity"] = f.severity.value
        return data

    return {
        "tool": report.tool,
        "ok": report.exit_code == 0,
        "summary": summary_line(report),
        "checks": [{"name": c.name, "group": c.group, "passed": c.passed,
                    **({"skipped": c.skipped} if c.skipped else {}),
                    "findings": [finding(f) for f in c.findings]} for c in report.checks],
    }


def render_json(report: Report) -> str:
    """Machine JSON: the checks, each with its findings, and a summary."""
    return json.dumps(report_data(report), indent=2)
