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
            lines.extend(f"{indent}    {d}" for d in f.detail)
            if f.hint:
                lines.append(f"{indent}    fix: {f.hint}")
            if report.layout != "flat" and f.file:
                lines.append(f"{indent}    at: {f.location()}")
    skipped: dict[str, list[int]] = {}
    for index, check in enumerate(report.checks):
        if check.skipped:
            skipped.setdefault(check.skipped, []).append(index)
    for why, indexes in skipped.items():
        lines.append(f"not checked ({len(indexes)}, {why}): {_runs(report, indexes)}")
    lines.append(summary_line(report))
    return "\n".join(lines)


def _runs(report: Report, indexes: list[int]) -> str:
    """The checks' names, a run of three or more neighbours as ``first .. last``."""
    parts, start = [], 0
    while start < len(indexes):
        end = start
        while end + 1 < len(indexes) and indexes[end + 1] == indexes[end] + 1:
            end += 1
        first, last = report.checks[indexes[start]].name, report.checks[indexes[end]].name
        parts += [f"{first} .. {last}"] if end - start >= 2 else [report.checks[i].name for i in indexes[start:end + 1]]
        start = end + 1
    return ", ".join(parts)
