"""Findings, reports, and one renderer module per output format."""

from __future__ import annotations

from pathlib import Path

from .model import Check, Finding, Report, Severity, relative_paths

FORMATS = ("text", "json", "junit", "github", "sarif")

__all__ = ["FORMATS", "Check", "Finding", "Report", "Severity", "render"]


def render(report: Report, fmt: str, path_root: Path | None = None) -> str:
    """The report in one of ``FORMATS``; for github and sarif, file paths relative to ``path_root``."""
    if path_root is not None and fmt in ("github", "sarif"):
        report = relative_paths(report, path_root)
    if fmt == "text":
        from .text import render_text as renderer
    elif fmt == "json":
        from .json_report import render_json as renderer
    elif fmt == "junit":
        from .junit import render_junit as renderer
    elif fmt == "github":
        from .github import render_github as renderer
    elif fmt == "sarif":
        from .sarif import render_sarif as renderer
    else:
        raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    return renderer(report)
