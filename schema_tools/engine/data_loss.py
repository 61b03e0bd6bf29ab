"""What a rollback loses, measured by the server: the rollback runs in a transaction, and what it
did is read before the transaction ends (deferred triggers fired first) -- tables that held rows
and are gone (by OID: renamed first, dropped with their schema or their type, by dynamic SQL),
their columns that are gone (by number: a column dropped and added again under its name is gone),
rows deleted or updated (the transaction's own statistics), columns whose type changed or tables
rewritten (ALTER ... USING) or emptied, enum labels renamed or gone, large objects removed,
sequences set back. Nothing is read from the rollback's text, except what a transaction cannot
undo: a statement that moves a sequence needs a yes before it runs."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import psycopg
from psycopg import sql

TABLES_SQL = """
SELECT c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), c.relfilenode
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%%' AND NOT (n.nspname = %(books)s AND c.relname = ANY(%(bookkeeping)s))
"""

COLUMNS_SQL = """
SELECT a.attrelid, a.attnum, a.attname, a.atttypid::text || ':' || a.atttypmod::text,
       pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a WHERE a.attrelid = ANY(%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
"""

CHANGED_ROWS_SQL = """
SELECT relid, n_tup_del, n_tup_upd FROM pg_catalog.pg_stat_xact_user_tables
WHERE relid = ANY(%(oids)s) AND (n_tup_del > 0 OR n_tup_upd > 0)
"""

ENUMS_SQL = "SELECT oid, enumtypid::regtype::text, enumlabel FROM pg_catalog.pg_enum"
SEQUENCES_SQL = ("SELECT pg_catalog.quote_ident(schemaname) || '.' || pg_catalog.quote_ident(sequencename), "
                 "coalesce(last_value, 0) FROM pg_catalog.pg_sequences")
LARGE_OBJECTS_SQL = "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata"

Column = tuple[str, str, str]  # name, type (OIDs: what compares), type as shown


@dataclass(frozen=True)
class Snapshot:
    """What the database held when it was taken (tables: those holding at least one row)."""

    names: dict[int, str]
    files: dict[int, int]
    columns: dict[int, dict[int, Column]]
    enums: dict[int, tuple[str, str]]
    sequences: dict[str, int]
    large_objects: int


def _holds_rows(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.SQL(name))).fetchone()  # quote_ident's
    return bool(row and row[0])


def _columns(conn: psycopg.Connection, oids: list[int]) -> dict[int, dict[int, Column]]:
    found: dict[int, dict[int, Column]] = {oid: {} for oid in oids}
    for oid, number, name, kind, shown in conn.execute(COLUMNS_SQL, {"oids": oids}).fetchall():
        found[int(oid)][int(number)] = (str(name), str(kind), str(shown))
    return found


def _scalar(conn: psycopg.Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def snapshot(conn: psycopg.Connection, books: str, bookkeeping: tuple[str, ...]) -> Snapshot:
    """The database as the rollback will find it (``books``: the schema of the history tables, left out)."""
    held = [(int(oid), str(name), int(file)) for oid, name, file in
            conn.execute(TABLES_SQL, {"books": books, "bookkeeping": list(bookkeeping)}).fetchall()
            if _holds_rows(conn, str(name))]
    return Snapshot({oid: name for oid, name, _ in held}, {oid: file for oid, _, file in held},
                    _columns(conn, [oid for oid, _, _ in held]),
                    {int(oid): (str(kind), str(label)) for oid, kind, label in conn.execute(ENUMS_SQL).fetchall()},
                    {str(name): int(value) for name, value in conn.execute(SEQUENCES_SQL).fetchall()},
                    _scalar(conn, LARGE_OBJECTS_SQL))


def dropped_columns(conn: psycopg.Connection, before: Snapshot) -> list[tuple[int, int]]:
    """(table OID, column number) of the columns of ``before``'s tables that are gone now."""
    now = _columns(conn, list(before.names))
    return [(oid, number) for oid in before.names if now.get(oid) for number in before.columns[oid]
            if number not in now[oid]]


def holding_values(conn: psycopg.Connection, before: Snapshot, columns: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of those columns hold at least one value (read before they are dropped)."""
    held = set()
    for oid, number in columns:
        query = sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE {} IS NOT NULL)").format(
            sql.SQL(before.names[oid]), sql.Identifier(before.columns[oid][number][0]))
        row = conn.execute(query).fetchone()
        if row and row[0]:
            held.add((oid, number))
    return held


def losses(conn: psycopg.Connection, before: Snapshot, books: str, bookkeeping: tuple[str, ...],
           empty: Collection[tuple[int, int]] = ()) -> list[str]:
    """What the transaction so far lost of what ``before`` held, a line each (``empty``: dropped
    columns that held no value, which lose nothing)."""
    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred triggers fire now, not after the count
    now = {int(oid): (str(name), int(file)) for oid, name, file in
           conn.execute(TABLES_SQL, {"books": books, "bookkeeping": list(bookkeeping)}).fetchall()
           if int(oid) in before.names}
    columns = _columns(conn, list(now))
    changed = {int(oid): (int(deleted), int(updated)) for oid, deleted, updated in
               conn.execute(CHANGED_ROWS_SQL, {"oids": list(before.names)}).fetchall()}
    found: list[str] = []
    for oid, name in before.names.items():
        if oid not in now:
            found.append(f"table {name} and its rows would be dropped")
            continue
        retyped = False
        for number, (column, kind, shown) in before.columns[oid].items():
            after = columns[oid].get(number)
            if after is None:
                if (oid, number) not in empty:
                    found.append(f"column {name}.{column} and its values would be dropped")
            elif after[1] != kind:
                retyped = True
                found.append(f"column {name}.{column} would change type ({shown} -> {after[2]}): its values are "
                             "rewritten")
        deleted, updated = changed.get(oid, (0, 0))
        if now[oid][1] != before.files[oid]:
            if not _holds_rows(conn, now[oid][0]):
                found.append(f"every row of {name} would be removed (TRUNCATE)")
            elif not retyped:
                found.append(f"table {name} would be rewritten: its values may change (ALTER ... TYPE ... USING?)")
        if deleted:
            found.append(f"{deleted:,} row(s) of {name} would be deleted")
        if updated:
            found.append(f"{updated:,} row(s) of {name} would be changed")
    enums = {int(oid): (str(kind), str(label)) for oid, kind, label in conn.execute(ENUMS_SQL).fetchall()}
    for oid, (kind, label) in before.enums.items():
        if oid not in enums:
            found.append(f"enum value {label!r} of {kind} would be dropped")
        elif enums[oid][1] != label:
            found.append(f"enum value {label!r} of {kind} would be renamed to {enums[oid][1]!r}")
    sequences = {str(name): int(value) for name, value in conn.execute(SEQUENCES_SQL).fetchall()}
    found += [f"sequence {name} would go back from {value} to {sequences[name]}"
              for name, value in before.sequences.items() if name in sequences and sequences[name] < value]
    gone = before.large_objects - _scalar(conn, LARGE_OBJECTS_SQL)
    if gone > 0:
        found.append(f"{gone:,} large object(s) would be removed")
    return found
