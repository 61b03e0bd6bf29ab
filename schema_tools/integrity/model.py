"""A data check: a set-based query over one table that returns the offending rows' count and
a few sample primary keys."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from ..catalog import Table
from ..findings import Severity

DUPLICATES, ROWS = "duplicates", "rows"


@dataclass(frozen=True)
class DataCheck:
    """``shape`` is DUPLICATES (``columns`` must be unique, ``where`` narrows a partial key) or
    ROWS (``predicate`` marks a bad row; the table is aliased ``c``)."""

    name: str
    rule: str
    table: Table
    shape: str
    hint: str
    severity: Severity = Severity.ERROR
    columns: tuple[str, ...] = ()
    predicate: sql.Composable | None = None
    where: sql.Composable | None = None


@dataclass(frozen=True)
class Result:
    check: DataCheck
    count: int
    samples: tuple[str, ...]
    groups: int = 0
    error: str = ""


def table_ident(table: Table) -> sql.Identifier:
    return sql.Identifier(table.schema, table.name)


def pk_text(table: Table, alias: str = "c") -> sql.Composable:
    """The row's primary key as text (``(a, b)`` for a composite one; ctid without a key)."""
    if table.primary_key is None:
        return sql.SQL("{}.ctid::text").format(sql.Identifier(alias))
    cols = [sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c)) for c in table.primary_key.columns]
    if len(cols) == 1:
        return sql.SQL("{}::text").format(cols[0])
    return sql.SQL("'(' || concat_ws(', ', {}) || ')'").format(sql.SQL(", ").join(cols))
