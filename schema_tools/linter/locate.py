"""Every finding at a file and line, for code scanning (SARIF and GitHub annotations need one):
a finding about a database object (verify's invariants, drift, integrity) is placed where the
migration files declare that object; one the files never declare, at the newest migration (where
the fix would go). Findings that have a place keep it."""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Sequence

from ..findings import Report
from ..migration_files.model import Migration
from ..sqlmodel import declare


def locate(report: Report, migrations: Sequence[Migration]) -> Report:
    """``report`` with a file and line on each finding that has none (when there are migrations)."""
    if not migrations or all(f.file for f in report.findings):
        return report
    schema = declare(migrations)
    newest = (str(migrations[-1].path), 1)

    def placed(obj: str) -> tuple[str, int]:
        return schema.origin_of(obj) or newest if obj else newest

    return replace(report, checks=tuple(
        replace(c, findings=tuple(f if f.file else replace(f, file=placed(f.object)[0], line=placed(f.object)[1])
                                  for f in c.findings))
        for c in report.checks))
