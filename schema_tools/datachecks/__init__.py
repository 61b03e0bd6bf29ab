"""Data integrity: set-based checks on live data, and pre-flight checks for pending migrations."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

from ..engine import history
import psycopg

from ..catalog.read import read_catalog
from ..config import Settings
from ..errors import ConfigError
from ..expect.model import TableExpectation
from ..findings import Check, Finding, Report, Severity
from ..migration_files.model import Migration
from .derive import from_catalog, from_checks_file, from_expectations
from .model import DataCheck, Result
from .preflight import plan_checks
from .run import reader, run_check

RULE_HELP = {
    "duplicates": "rows share a key that should be unique", "nulls": "NULLs where NOT NULL is expected",
    "allowed-values": "values outside the allowed set", "orphans": "references to rows that do not exist",
    "tenant-consistency": "a row refers to a row of another tenant", "membership": "a row lacks its membership",
    "range": "values outside the allowed range", "rows": "rows a project check marks as bad",
    "check": "rows a NOT VALID CHECK would reject", "check-failed": "a data check could not run",
    "preflight-unique": "duplicates a pending UNIQUE would reject", "preflight-not-null": "NULLs a pending SET NOT NULL would reject",
    "preflight-foreign-key": "orphans a pending FOREIGN KEY would reject", "preflight-check": "rows a pending CHECK would reject",
}


def finding(result: Result) -> Finding | None:
    check = result.check
    if result.error:
        return Finding("check-failed", f"{check.name}: could not run ({result.error})", Severity.ERROR,
                       check.table.display, "fix the check, or raise statement_timeout")
    if not result.count:
        return None
    rows = f"{result.count} rows share {result.groups} duplicated value(s)" if result.groups else f"{result.count} row(s)"
    samples = f"; e.g. primary keys {', '.join(result.samples)}" if result.samples else ""
    return Finding(check.rule, f"{check.name}: {rows}{samples}", check.severity, check.table.display, check.hint)


def _report(tool: str, results: list[Result]) -> Report:
    checks = []
    for result in results:
        found = finding(result)
        checks.append(Check(result.check.name, result.check.rule, (found,) if found else ()))
    return Report(tool, tuple(checks), RULE_HELP)


def integrity_report(conn: psycopg.Connection, settings: Settings, expectations: Sequence[TableExpectation],
                 checks_file: Path | None, samples: int) -> Report:
    """Every derived and configured data check against the live data."""
    catalog = read_catalog(conn, settings.schemas)
    checks: list[DataCheck] = from_expectations(catalog, expectations) + from_catalog(catalog)
    if checks_file is not None:
        checks += from_checks_file(checks_file, catalog)
        refuse_acting_predicates(conn, checks, checks_file)
    with reader(conn) if checks else nullcontext(None) as role:
        results = [run_check(conn, c, samples, settings.statement_timeout, role) for c in checks]
    return _report("integrity", results)


VOLATILE_SQL = {
    "function": "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.provolatile = 'v' AND p.proname = %(name)s AND (n.nspname = %(schema)s OR "
                "(%(schema)s IS NULL AND n.nspname = ANY(current_schemas(true)))) LIMIT 1",
    "operator": "SELECT o.oid::regoperator::text FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode "
                "JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE p.provolatile = 'v' AND o.oprname = %(name)s "
                "AND (n.nspname = %(schema)s OR (%(schema)s IS NULL AND n.nspname = ANY(current_schemas(true)))) LIMIT 1",
}


def refuse_acting_predicates(conn: psycopg.Connection, checks: Sequence[DataCheck], source: Path) -> None:
    """A [[rows]] predicate may call only IMMUTABLE or STABLE functions and operators, as the
    server's catalog says (a VOLATILE one may act: create replication slots, reset statistics,
    write): anything else is refused before any check runs (ConfigError)."""
    from ..sql.fragments import called

    for check in checks:
        for kind, schema, name in called(check.source) if check.source else ():
            row = conn.execute(VOLATILE_SQL[kind], {"name": name, "schema": schema}).fetchone()
            if row is not None:
                raise ConfigError(f"{source}: [[rows]] {check.name}: the predicate calls {row[0]}, a VOLATILE "
                                  f"{kind}: a check must only read",
                                  hint="use IMMUTABLE or STABLE functions only (or mark yours so, if it only reads)")


def preflight_report(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration], samples: int) -> Report:
    """The rows that would make a pending migration's new constraint fail; changes nothing."""
    done = history.applied(conn)
    pending = [m for m in migrations if m.id not in done]
    catalog = read_catalog(conn, settings.schemas)
    checks = [planned.check for planned in plan_checks(pending, catalog)]
    with reader(conn) if checks else nullcontext(None) as role:
        results = [run_check(conn, check, samples, settings.statement_timeout, role) for check in checks]
    return _report("preflight", results)
