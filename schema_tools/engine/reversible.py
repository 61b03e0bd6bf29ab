"""``check-reversible``: on a scratch database, apply each migration, roll it back, compare the
catalog with the state before, and re-apply; report every rollback that fails or leaves residue."""

from __future__ import annotations

import psycopg

from . import history
from ..catalog.inventory import inventory
from ..config import Settings
from ..errors import MigrationError
from ..findings import Check, Finding, Report, Severity
from .files import Migration, read_migrations
from .runner import run_migration

RULE_HELP = {
    "apply-fails": "the migration does not apply on a database holding the migrations before it",
    "no-rollback": "the migration has no rollback file",
    "rollback-fails": "the rollback file fails",
    "rollback-residue": "after the rollback the schema differs from the schema before the migration",
    "reapply-differs": "applying again after the rollback gives a different schema",
    "not-checked": "an earlier migration failed, so this one was not checked",
}


def _describe(lines: frozenset[str], limit: int = 4) -> str:
    shown = sorted(lines)[:limit]
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    return "; ".join(shown) + more


def _check_one(conn: psycopg.Connection, m: Migration, settings: Settings) -> tuple[Finding, ...]:
    before = inventory(conn)
    try:
        run_migration(conn, m, settings)
    except MigrationError as exc:
        raise _Stop(Finding("apply-fails", exc.message, object=m.id, hint=exc.hint, file=str(m.path), line=exc.line)) from None
    applied = inventory(conn)
    if m.rollback_text is None:
        return (Finding("no-rollback", f"{m.id} has no rollback file", object=m.id,
                        hint=f"write {m.rollback_path.name}", file=str(m.path), line=1),)
    try:
        run_migration(conn, m, settings, rollback=True)
    except MigrationError as exc:
        return (Finding("rollback-fails", exc.message, object=m.id, hint=exc.hint,
                        file=str(m.rollback_path), line=exc.line),)
    findings: list[Finding] = []
    after = inventory(conn)
    if after != before:
        left, lost = after - before, before - after
        detail = "; ".join(part for part in (
            f"left behind: {_describe(left)}" if left else "", f"not restored: {_describe(lost)}" if lost else "") if part)
        findings.append(Finding("rollback-residue", f"rolling back {m.id} does not restore the schema ({detail})",
                                object=m.id, hint=f"make {m.rollback_path.name} undo exactly what {m.path.name} does",
                                file=str(m.rollback_path), line=1))
    try:
        run_migration(conn, m, settings)
    except MigrationError as exc:
        raise _Stop(*findings, Finding("reapply-differs", f"{m.id} fails when applied again after its rollback: "
                                       f"{exc.message}", object=m.id, hint=exc.hint, file=str(m.path), line=exc.line))
    if inventory(conn) != applied:
        findings.append(Finding("reapply-differs", f"{m.id} applied again after its rollback gives a different schema",
                                object=m.id, hint="the rollback leaves something that changes the next apply",
                                file=str(m.path), line=1))
    return tuple(findings)


class _Stop(Exception):
    """The database is no longer in a state where later migrations can be checked."""

    def __init__(self, *findings: Finding):
        super().__init__(findings[-1].message)
        self.findings = findings


def check_reversible_on(conn: psycopg.Connection, settings: Settings) -> Report:
    """Apply, roll back and re-apply each migration in turn on ``conn``: an empty scratch database."""
    migrations = read_migrations(settings.migrations_dir)
    checks: list[Check] = []
    history.ensure_tables(conn)
    for index, m in enumerate(migrations):
        try:
            checks.append(Check(m.id, "reversibility", _check_one(conn, m, settings)))
        except _Stop as stop:
            checks.append(Check(m.id, "reversibility", stop.findings))
            checks.extend(Check(later.id, "reversibility", (Finding(
                "not-checked", f"not checked: {m.id} before it failed", Severity.WARNING, later.id),))
                for later in migrations[index + 1:])
            break
    return Report("check-reversible", tuple(checks), RULE_HELP)
