"""A data check: a set-based query over one table that returns the offending rows' count and
a few sample primary keys."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from ..catalog import Table
from ..findings import Severity

DUPLICATES, ROWS = "duplicates", "rows"


def col(name: str, alias: str = "c") -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(name))


@dataclass(frozen=True)
class Reference:
    """``columns`` of the checked table refer to ``ref_columns`` of ``parent``: a row whose
    columns are all set and match no parent row is an orphan."""

    columns: tuple[str, ...]
    parent: Table
    ref_columns: tuple[str, ...]

    def orphan_predicate(self) -> sql.Composed:
        present = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(col(c)) for c in self.columns)
        match = sql.SQL(" AND ").join(sql.SQL("{} = {}").format(col(r, "p"), col(c))
                                      for c, r in zip(self.columns, self.ref_columns))
        return sql.SQL("{} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(present, table_ident(self.parent), match)


@dataclass(frozen=True)
class DataCheck:
    """``shape`` is DUPLICATES (``columns`` must be unique, ``where`` narrows a partial key) or
    ROWS (``predicate`` marks a bad row, the table aliased ``c``; or ``reference`` names the
    parent whose missing rows make a row bad)."""

    name: str
    rule: str
    table: Table
    shape: str
    hint: str
    severity: Severity = Severity.ERROR
    columns: tuple[str, ...] = ()
    predicate: sql.Composable | None = None
    where: sql.Composable | None = None
    reference: Reference | None = None
    source: str = ""  # the predicate as the user wrote it (a [[rows]] where): its calls are checked first


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
