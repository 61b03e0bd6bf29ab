"""Pre-flight: before a pending migration adds UNIQUE, a unique index, SET NOT NULL, a FOREIGN
KEY or a CHECK to a table that already has rows, find the rows that would make it fail."""

from __future__ import annotations

import re
from dataclasses import dataclass

from psycopg import sql
from sqlglot import exp

from ..catalog import Catalog
from ..engine.files import Migration
from ..sqlmodel import parse_migration
from ..sqlmodel.renames import unquote
from ..sqlmodel.names import ident, table_name
from ..sqltext.meaning import to_sql
from .model import DUPLICATES, ROWS, DataCheck, Reference, col


NAME = r'("(?:[^"]|"")+"|[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)'
VALIDATE = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?{NAME}\s+VALIDATE\s+CONSTRAINT\s+{NAME}",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Planned:
    """A data check for one statement of a pending migration."""

    migration: Migration
    line: int
    statement: str
    check: DataCheck


def _constraints(node: exp.Alter) -> list[tuple[exp.Expression, bool, str]]:
    """(constraint, added NOT VALID, its name or '') for each constraint the ALTER adds."""
    found = []
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.AddConstraint):
            for item in action.expressions:
                name = ident(item.this) if isinstance(item, exp.Constraint) else ""
                found += [(part, bool(node.args.get("not_valid")), name)
                          for part in (item.expressions if isinstance(item, exp.Constraint) else [item])]
        elif isinstance(action, exp.AlterColumn) and action.args.get("allow_null") is False:
            found.append((action, False, ""))
    return found


def _validated(sql_text: str, catalog: Catalog, not_valid: dict[tuple[str, str], exp.Expression], name: str) -> list[DataCheck]:
    """The checks a VALIDATE CONSTRAINT needs: of a constraint a pending migration added NOT VALID,
    or of one the database holds NOT VALID."""
    match = VALIDATE.match(sql_text)
    if match is None:
        return []
    table_key, constraint = unquote(match.group(1)), unquote(match.group(2))
    table = catalog.table(table_key)
    if table is None:
        return []
    part = not_valid.get((table_key, constraint))
    if part is not None:  # on a column a pending migration adds, there are no old rows to check
        return _for_constraint(part, False, table, catalog, name) if all(table.column(c) for c in _columns_used(part)) else []
    for fk in table.foreign_keys:
        if fk.name == constraint and not fk.validated:
            parent = catalog.table(fk.ref_table)
            return [] if parent is None else [DataCheck(name, "preflight-foreign-key", table, ROWS, "delete or repair "
                                                        "the orphans before this migration runs",
                                                        reference=Reference(fk.columns, parent, fk.ref_columns))]
    for check in table.checks:
        if check.name == constraint and not check.validated:
            return [DataCheck(name, "preflight-check", table, ROWS, "fix the rows before this migration runs",
                              predicate=sql.SQL("NOT ({})").format(sql.SQL(check.expression)))]
    return []


def plan_checks(pending: list[Migration], catalog: Catalog) -> list[Planned]:
    """The data checks the pending migrations' constraint-adding statements need."""
    planned: list[Planned] = []
    not_valid: dict[tuple[str, str], exp.Expression] = {}  # (table, constraint) added NOT VALID -> its definition
    for m in pending:
        for p in parse_migration(m):
            node = p.node
            short = " ".join(p.statement.sql.split())[:120]
            if isinstance(node, exp.Create) and node.args.get("unique") and isinstance(node.this, exp.Index):
                table = catalog.table(table_name(node.this.args.get("table")))
                params = node.this.args.get("params")
                keys = [o.this if isinstance(o, exp.Ordered) else o for o in (params.args.get("columns") or [])] if params else []
                if table is None or not keys or not all(isinstance(k, exp.Column) and table.column(ident(k)) for k in keys):
                    continue
                where = params.args.get("where") if params else None
                check = DataCheck(f"{m.id}: {short}", "preflight-unique", table, DUPLICATES,
                                  "remove or merge the duplicates before this migration runs",
                                  columns=tuple(ident(k) for k in keys),
                                  where=sql.SQL(to_sql(where.this)) if where is not None else None)
                planned.append(Planned(m, p.statement.line, short, check))
            elif isinstance(node, exp.Alter):
                table = catalog.table(table_name(node.this))
                if table is None:
                    continue
                for part, skips_rows, name in _constraints(node):
                    if skips_rows and name:
                        not_valid[(table_name(node.this), name)] = part
                    if not all(table.column(c) for c in _columns_used(part)):
                        continue  # a column a pending migration adds: it holds no old rows yet
                    planned += [Planned(m, p.statement.line, short, found)
                                for found in _for_constraint(part, skips_rows, table, catalog, f"{m.id}: {short}")]
            else:
                planned += [Planned(m, p.statement.line, short, found)
                            for found in _validated(p.statement.sql, catalog, not_valid, f"{m.id}: {short}")]
    return planned


def _columns_used(part: exp.Expression) -> set[str]:
    if isinstance(part, exp.AlterColumn):
        return {ident(part.this)}
    if isinstance(part, exp.ForeignKey):
        return {ident(e) for e in part.expressions}
    return {ident(c) for c in part.find_all(exp.Column)} | {ident(i) for i in part.find_all(exp.Identifier)
                                                            if isinstance(part, (exp.UniqueColumnConstraint, exp.PrimaryKey))}


def _not_null(name: str, table, column: str) -> DataCheck:  # type: ignore[no-untyped-def]
    return DataCheck(name, "preflight-not-null", table, ROWS, "fill the NULLs before this migration runs",
                     predicate=sql.SQL("{} IS NULL").format(col(column)))


def _for_constraint(part: exp.Expression, not_valid: bool, table, catalog: Catalog, name: str) -> list[DataCheck]:  # type: ignore[no-untyped-def]
    if isinstance(part, exp.AlterColumn):
        return [_not_null(name, table, ident(part.this))]
    if isinstance(part, (exp.UniqueColumnConstraint, exp.PrimaryKey)):
        cols = tuple(ident(e) for e in (part.this.expressions if isinstance(part, exp.UniqueColumnConstraint) and
                                        part.this is not None else part.expressions))
        if not cols:
            return []
        unique = DataCheck(name, "preflight-unique", table, DUPLICATES, "remove or merge the duplicates before this "
                           "migration runs", columns=cols)
        # a primary key also sets NOT NULL on its columns: a NULL fails it as surely as a duplicate
        nullable = [c for c in cols if not table.column(c).not_null] if isinstance(part, exp.PrimaryKey) else []
        return [unique] + [_not_null(f"{name} ({c} NOT NULL)", table, c) for c in nullable]
    if not_valid:
        return []  # NOT VALID skips the existing rows: nothing can fail now
    if isinstance(part, exp.ForeignKey):
        ref = part.args["reference"].this
        parent = catalog.table(table_name(ref.this if isinstance(ref, exp.Schema) else ref))
        refs = tuple(ident(e) for e in ref.expressions) if isinstance(ref, exp.Schema) else ()
        if parent is None:
            return []
        if not refs and parent.primary_key:
            refs = parent.primary_key.columns
        return [DataCheck(name, "preflight-foreign-key", table, ROWS, "delete or repair the orphans before this "
                          "migration runs", reference=Reference(tuple(ident(e) for e in part.expressions), parent, refs))]
    if isinstance(part, exp.CheckColumnConstraint):
        return [DataCheck(name, "preflight-check", table, ROWS, "fix the rows before this migration runs",
                          predicate=sql.SQL("NOT ({})").format(sql.SQL(to_sql(part.this))))]
    return []
