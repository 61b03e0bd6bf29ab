"""What a rollback would drop: the rows of tables its files drop or truncate, and the values of
columns they drop, counted on the database before anything runs."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from ..migration_files.model import Migration
from ..sql.effects import Target

COUNT_CAP = 1_000_000


def _rows(conn: psycopg.Connection, table: Target, column: str | None = None) -> int:
    """Rows of ``table`` (holding a value in ``column``), counted up to COUNT_CAP + 1."""
    if not conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table.sql,)).fetchone()[0]:  # type: ignore[index]
        return 0
    name = sql.Identifier(table.name) if table.schema is None else sql.Identifier(table.schema, table.name)
    where = sql.SQL(" WHERE {} IS NOT NULL").format(sql.Identifier(column)) if column else sql.SQL("")
    query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {}{} LIMIT {}) s").format(name, where, sql.Literal(COUNT_CAP + 1))
    try:
        with conn.transaction():
            return int(conn.execute(query).fetchone()[0])  # type: ignore[index]
    except psycopg.Error:  # no such column (yet), or no privilege: nothing to count
        return 0


def data_at_risk(conn: psycopg.Connection, plan: Sequence[Migration]) -> list[str]:
    """The rows the rollback files of ``plan`` would drop (DROP TABLE, TRUNCATE, DROP COLUMN)."""
    losses = []
    for m in plan:
        for stmt in m.rollback_statements:
            for dropped in stmt.drops_data:
                count = _rows(conn, dropped.table, dropped.column)
                if count:
                    shown = f"more than {COUNT_CAP:,}" if count > COUNT_CAP else f"{count:,}"
                    table = dropped.table.sql
                    what = f"column {table}.{dropped.column} holds values in {shown} row(s)" if dropped.column \
                        else f"{table} holds {shown} row(s)"
                    losses.append(f"{what} ({m.rollback_path.name}:{stmt.line})")
    return losses
