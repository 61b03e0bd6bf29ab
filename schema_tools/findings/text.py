"""Human text: flat (lint: ``file:line:col: severity RULE: message``) or grouped by table."""

from __future__ import annotations

from .model import Finding, Report, summary_line


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
    lines.append(summary_line(report))
    return "\n".join(lines)
