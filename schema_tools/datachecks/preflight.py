"""Pre-flight: before a pending migration adds UNIQUE, a unique index, SET NOT NULL, a FOREIGN
KEY or a CHECK to a table that already has rows, find the rows that would make it fail. The
statements are read from PostgreSQL's own parse trees."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from ..catalog import Catalog, Table
from ..migration_files.model import Migration
from ..sql.statement import Statement
from ..sql.tree import Node, body, column_refs, relation, strings
from .model import DUPLICATES, ROWS, DataCheck, Reference, col


@dataclass(frozen=True)
class Planned:
    """A data check for one statement of a pending migration."""

    migration: Migration
    line: int
    statement: str
    check: DataCheck


@dataclass(frozen=True)
class Added:
    """What an ALTER TABLE subcommand asks of existing rows: ``kind`` is unique, primary, foreign,
    check or not-null; ``columns`` the columns it reads; ``predicate`` a CHECK's expression."""

    kind: str
    columns: tuple[str, ...]
    not_valid: bool = False
    name: str = ""
    predicate: str = ""
    parent: str = ""
    parent_columns: tuple[str, ...] = ()


KINDS = {"CONSTR_UNIQUE": "unique", "CONSTR_PRIMARY": "primary", "CONSTR_FOREIGN": "foreign", "CONSTR_CHECK": "check"}


def _added(stmt: Statement, cmd: Node) -> Added | None:
    """What one ALTER TABLE subcommand adds, or None when it adds nothing rows could break."""
    if cmd.get("subtype") == "AT_SetNotNull" and cmd.get("name"):
        return Added("not-null", (cmd["name"],))
    c = body(cmd.get("def"), "Constraint")
    kind = KINDS.get(c.get("contype", "")) if cmd.get("subtype") == "AT_AddConstraint" else None
    if kind is None:
        return None
    name, not_valid = c.get("conname", ""), bool(c.get("skip_validation"))
    if kind == "foreign":
        return Added(kind, tuple(strings(c.get("fk_attrs"))), not_valid, name, parent=relation(c.get("pktable")),
                     parent_columns=tuple(strings(c.get("pk_attrs"))))
    if kind == "check":
        expression = c.get("raw_expr")
        return Added(kind, tuple(dict.fromkeys(column_refs(expression))), not_valid, name, stmt.expression(expression))
    return Added(kind, tuple(strings(c.get("keys"))), not_valid, name)


def _validated(stmt: Statement, cmd: Node, catalog: Catalog, not_valid: dict[tuple[str, str], Added],
               name: str) -> list[DataCheck]:
    """The checks a VALIDATE CONSTRAINT needs: of a constraint a pending migration added NOT VALID,
    or of one the database holds NOT VALID."""
    table_key, constraint = relation(stmt.fields.get("relation")), cmd.get("name", "")
    table = catalog.table(table_key)
    if table is None:
        return []
    added = not_valid.get((table_key, constraint))
    if added is not None:  # on a column a pending migration adds, there are no old rows to check
        return _for(added, False, table, catalog, name) if all(table.column(c) for c in added.columns) else []
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


def _unique_index(stmt: Statement, catalog: Catalog, name: str) -> list[DataCheck]:
    """CREATE UNIQUE INDEX on plain columns of a table that has rows: its duplicates."""
    f = stmt.fields
    table = catalog.table(relation(f.get("relation")))
    elements = [body(e, "IndexElem") for e in f.get("indexParams") or ()]
    if table is None or not elements or not all(e.get("name") and table.column(e["name"]) for e in elements):
        return []
    where = f.get("whereClause")
    return [DataCheck(name, "preflight-unique", table, DUPLICATES, "remove or merge the duplicates before this "
                      "migration runs", columns=tuple(e["name"] for e in elements),
                      where=sql.SQL(stmt.expression(where)) if where is not None else None)]


def plan_checks(pending: Sequence[Migration], catalog: Catalog) -> list[Planned]:
    """The data checks the pending migrations' constraint-adding statements need."""
    planned: list[Planned] = []
    not_valid: dict[tuple[str, str], Added] = {}  # (table, constraint) added NOT VALID -> what it asks
    for m in pending:
        for stmt in m.statements:
            short = " ".join(stmt.sql.split())[:120]
            name = f"{m.id}: {short}"
            found: list[DataCheck] = []
            if stmt.kind == "IndexStmt" and stmt.fields.get("unique"):
                found = _unique_index(stmt, catalog, name)
            elif stmt.kind == "AlterTableStmt" and stmt.fields.get("objtype") == "OBJECT_TABLE":
                table_key = relation(stmt.fields.get("relation"))
                table = catalog.table(table_key)
                for cmd in (body(c) for c in stmt.fields.get("cmds") or ()):
                    if cmd.get("subtype") == "AT_ValidateConstraint":
                        found += _validated(stmt, cmd, catalog, not_valid, name)
                        continue
                    added = _added(stmt, cmd)
                    if added is None or table is None:
                        continue
                    if added.not_valid and added.name:
                        not_valid[(table_key, added.name)] = added
                    if all(table.column(c) for c in added.columns):  # else a new column: no old rows hold it
                        found += _for(added, added.not_valid, table, catalog, name)
            planned += [Planned(m, stmt.line, short, check) for check in found]
    return planned


def _not_null(name: str, table: Table, column: str) -> DataCheck:
    return DataCheck(name, "preflight-not-null", table, ROWS, "fill the NULLs before this migration runs",
                     predicate=sql.SQL("{} IS NULL").format(col(column)))


def _for(added: Added, not_valid: bool, table: Table, catalog: Catalog, name: str) -> list[DataCheck]:
    if added.kind == "not-null":
        return [_not_null(name, table, added.columns[0])]
    if added.kind in ("unique", "primary"):
        if not added.columns:
            return []  # USING INDEX: the index already holds the rows
        unique = DataCheck(name, "preflight-unique", table, DUPLICATES, "remove or merge the duplicates before this "
                           "migration runs", columns=added.columns)
        # a primary key also sets NOT NULL on its columns: a NULL fails it as surely as a duplicate
        nullable = [c for c in added.columns if not table.column(c).not_null] if added.kind == "primary" else []  # type: ignore[union-attr]
        return [unique] + [_not_null(f"{name} ({c} NOT NULL)", table, c) for c in nullable]
    if not_valid:
        return []  # NOT VALID skips the existing rows: nothing can fail now
    if added.kind == "foreign":
        parent = catalog.table(added.parent)
        if parent is None:
            return []
        refs = added.parent_columns or (parent.primary_key.columns if parent.primary_key else ())
        return [DataCheck(name, "preflight-foreign-key", table, ROWS, "delete or repair the orphans before this "
                          "migration runs", reference=Reference(added.columns, parent, refs))]
    return [DataCheck(name, "preflight-check", table, ROWS, "fix the rows before this migration runs",
                      predicate=sql.SQL("NOT ({})").format(sql.SQL(added.predicate)))]
