"""What a rollback loses, measured by the server: the rollback runs in a transaction, and what it
did is read before the transaction ends -- tables that held rows and are gone (renamed first,
dropped with their schema or their type, by dynamic SQL: the table's OID is what counts), columns
of such tables that are gone, rows deleted or updated (the transaction's own statistics), and
columns whose type changed, or tables rewritten (ALTER ... USING), when they held rows. Nothing is
read from the rollback's text."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

TABLES_SQL = """
SELECT c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), c.relfilenode
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%%' AND c.relname <> ALL(%(bookkeeping)s)
"""

COLUMNS_SQL = """
SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a WHERE a.attrelid = ANY(%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
"""

CHANGED_ROWS_SQL = """
SELECT relid, n_tup_del, n_tup_upd FROM pg_catalog.pg_stat_xact_user_tables
WHERE relid = ANY(%(oids)s) AND (n_tup_del > 0 OR n_tup_upd > 0)
"""


@dataclass(frozen=True)
class Snapshot:
    """The tables that held rows when it was taken: name, storage file and columns (name -> type)."""

    names: dict[int, str]
    files: dict[int, int]
    columns: dict[int, dict[str, str]]


def _holds_rows(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.SQL(name))).fetchone()  # quote_ident's
    return bool(row and row[0])


def snapshot(conn: psycopg.Connection, bookkeeping: tuple[str, ...]) -> Snapshot:
    """The tables holding at least one row, with their columns (each table read up to its first row)."""
    tables = conn.execute(TABLES_SQL, {"bookkeeping": list(bookkeeping)}).fetchall()
    held: list[tuple[int, str, int]] = []
    for oid, name, file in tables:
        if _holds_rows(conn, str(name)):
            held.append((int(oid), str(name), int(file)))
    columns: dict[int, dict[str, str]] = {oid: {} for oid, _, _ in held}
    for oid, column, kind in conn.execute(COLUMNS_SQL, {"oids": list(columns)}).fetchall():
        columns[int(oid)][str(column)] = str(kind)
    return Snapshot({oid: name for oid, name, _ in held}, {oid: file for oid, _, file in held}, columns)


def losses(conn: psycopg.Connection, before: Snapshot, bookkeeping: tuple[str, ...]) -> list[str]:
    """What the transaction so far lost of what ``before`` held, a line each."""
    oids = list(before.names)
    now = {int(oid): (str(name), int(file)) for oid, name, file in
           conn.execute(TABLES_SQL, {"bookkeeping": list(bookkeeping)}).fetchall() if int(oid) in before.names}
    columns: dict[int, dict[str, str]] = {oid: {} for oid in now}
    for oid, column, kind in conn.execute(COLUMNS_SQL, {"oids": list(now)}).fetchall():
        columns[int(oid)][str(column)] = str(kind)
    changed = {int(oid): (int(deleted), int(updated))
               for oid, deleted, updated in conn.execute(CHANGED_ROWS_SQL, {"oids": oids}).fetchall()}
    found: list[str] = []
    for oid, name in before.names.items():
        if oid not in now:
            found.append(f"table {name} and its rows would be dropped")
            continue
        for column, kind in before.columns[oid].items():
            if column not in columns[oid]:
                found.append(f"column {name}.{column} and its values would be dropped")
            elif columns[oid][column] != kind:
                found.append(f"column {name}.{column} would change type ({kind} -> {columns[oid][column]}): "
                             "its values are rewritten")
        deleted, updated = changed.get(oid, (0, 0))
        retyped = any(f"column {name}." in line and "change type" in line for line in found)
        if now[oid][1] != before.files[oid]:
            if not _holds_rows(conn, now[oid][0]):
                found.append(f"every row of {name} would be removed (TRUNCATE)")
            elif not retyped:
                found.append(f"table {name} would be rewritten: its values may change (ALTER ... TYPE ... USING?)")
        if deleted:
            found.append(f"{deleted:,} row(s) of {name} would be deleted")
        if updated:
            found.append(f"{updated:,} row(s) of {name} would be changed")
    return found
