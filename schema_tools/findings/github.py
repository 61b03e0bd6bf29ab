"""GitHub Actions workflow commands (annotations)."""

from __future__ import annotations

from .model import Report, Severity


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
