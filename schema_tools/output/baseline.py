"""``baseline``: the drift between the files and the database, and the migrations recorded.

Its JSON is the drift report's (as ``schema_tools.findings`` renders it) with ``recorded``
added; with differences, the report in any of the findings' formats.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..findings import render
from ..findings.json_report import report_data

if TYPE_CHECKING:
    from ..findings import Report

DIFFERS = "baseline: the database differs from what the files declare; nothing was recorded"


def render_baseline(report: Report, recorded: Sequence[str], fmt: str, path_root: Path | None = None) -> str:
    """The outcome of ``baseline`` in ``fmt`` (text, json, or a findings format: junit, github,
    sarif, which show the differences and otherwise say in text what was recorded)."""
    if fmt == "json":
        return json.dumps({**report_data(report), "recorded": list(recorded)}, indent=2)
    if report.errors:
        return render(report, fmt, path_root) + (f"\n{DIFFERS}" if fmt == "text" else "")
    return (f"recorded {len(recorded)} migration(s) as applied without running them: {', '.join(recorded)}"
            if recorded else "no migrations to record")
