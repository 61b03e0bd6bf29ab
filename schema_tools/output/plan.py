"""``plan``: the pending migrations, each statement with its lock, and the preflight's findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from ..findings.json_report import report_data
from . import as_format

if TYPE_CHECKING:
    from ..engine.model import PlannedMigration
    from ..findings import Report

WIDTH = 70  # of a statement's text on its line


def render_plan(planned: Sequence[PlannedMigration], preflight: Report, fmt: str) -> str:
    """What migrate would do (``planned``) and the rows that would make it fail (``preflight``)."""
    return as_format(fmt, lambda: _text(planned, preflight), lambda: {
        "migrations": [asdict(p) for p in planned],
        "preflight": report_data(preflight),
    })


def _text(planned: Sequence[PlannedMigration], preflight: Report) -> str:
    lines = [] if planned else ["nothing to apply: the database is up to date"]
    for p in planned:
        mode = "transactional" if p.transactional else "not transactional (statement by statement)"
        lines.append(f"{p.id}  {mode}, lock_timeout {p.lock_timeout}, statement_timeout {p.statement_timeout}")
        for s in p.statements:
            text = s.sql if len(s.sql) <= WIDTH else s.sql[:WIDTH - 3] + "..."
            lines.append(f"  line {s.line:<5} {s.lock:<24} {text}")
            if s.observed is not None:
                seen = "; ".join(s.observed) or "no lock on an existing relation"
                lines.append(f"  {'':<10} observed: {seen}"
                             + ("   <- differs from the static table" if s.traced == "differs" else ""))
            elif s.traced:
                lines.append(f"  {'':<10} {s.traced}")
    lines += [f"preflight: {f.message} -- fix: {f.hint}" for f in preflight.findings]
    return "\n".join(lines)
