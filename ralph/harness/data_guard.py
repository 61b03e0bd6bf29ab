"""The loop never deletes or changes data on the target: every row of a table that existed before
the promotion must still be there, with the same values in every column that kept its name and
type (new columns may be filled; new rows may be added), and no sequence goes back (the next
insert would collide with a row that holds its value). Values are compared as text written
under fixed settings (a migration's time zone or date style cannot make equal values differ),
one hash per cell.
A table too large to hold in memory that way is compared by its row count only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schema_tools import Catalog

if TYPE_CHECKING:
    import psycopg

CELLS = 2_000_000  # in all: the tables beyond it (the largest last) are counted, not compared


@dataclass(frozen=True)
class TableData:
    columns: tuple[tuple[str, str], ...]  # (name, type)
    rows: int
    cells: tuple[tuple[int, ...], ...] | None  # one hash per column, per row; None: too large, counted only


def _qualified(table: str) -> str:
    """The catalog's name of a table (``users`` in public) as a session pinned to pg_catalog reads it."""
    return table if "." in table else f"public.{table}"


def _read(conn: psycopg.Connection, table: str, columns: tuple[tuple[str, str], ...], rows: int,
          budget: int = CELLS) -> TableData:
    from psycopg import sql

    if not columns or rows * len(columns) > budget:
        return TableData(columns, rows, None)
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(name)) for name, _ in columns),
        sql.Identifier(*_qualified(table).split(".")))
    with conn.transaction():  # whatever a migration set in the session, values read the same way
        conn.execute("SELECT set_config('DateStyle', 'ISO, MDY', true), set_config('IntervalStyle', 'postgres', true), "
                     "set_config('TimeZone', 'UTC', true), set_config('extra_float_digits', '3', true), "
                     "set_config('bytea_output', 'hex', true)")
        return TableData(columns, rows, tuple(tuple(hash(v) for v in row) for row in conn.execute(query)))


def _count(conn: psycopg.Connection, table: str) -> int | None:
    """The table's rows; None when it is gone, or when the harness's role may not read it (then
    the migrations, run as that role, may not write it either)."""
    import psycopg
    from psycopg import sql

    if conn.execute("SELECT pg_catalog.to_regclass(%s)", (_regclass(conn, table),)).fetchone() == (None,):
        return None
    try:
        with conn.transaction():
            return int(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(  # type: ignore[index]
                sql.Identifier(*_qualified(table).split(".")))).fetchone()[0])
    except psycopg.errors.InsufficientPrivilege:
        return None


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, TableData]
    sequences: dict[str, int]  # where each sequence that was used stands
    identities: dict[str, tuple[int, dict[int, str]]]  # table -> (its OID, its columns by number): what a rename keeps


IDENTITIES_SQL = """SELECT c.oid, a.attnum, a.attname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.oid = pg_catalog.to_regclass(%s)"""


def _regclass(conn: psycopg.Connection, table: str) -> str:
    """The table's name as to_regclass reads it on a session pinned to pg_catalog: schema-qualified
    (``public`` when none is given), each part quoted (a name may hold quotes)."""
    from psycopg import sql

    return sql.Identifier(*_qualified(table).split(".")).as_string(conn)


def _identity(conn: psycopg.Connection, table: str) -> tuple[int, dict[int, str]]:
    rows = conn.execute(IDENTITIES_SQL, (_regclass(conn, table),)).fetchall()
    return (int(rows[0][0]) if rows else 0, {int(num): str(name) for _, num, name in rows})


def _surviving(conn: psycopg.Connection, oid: int) -> dict[int, str] | None:
    """The columns (by number) of the relation ``oid`` now; None when it is gone."""
    rows = conn.execute("SELECT a.attnum, a.attname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_attribute a "
                        "ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped WHERE c.oid = %s", (oid,)).fetchall()
    return {int(num): str(name) for num, name in rows if num is not None} if rows else None


SEQUENCES_SQL = ("SELECT schemaname || '.' || sequencename, last_value FROM pg_catalog.pg_sequences "
                 "WHERE last_value IS NOT NULL")


def _sequences(conn: psycopg.Connection) -> dict[str, int]:
    return {str(name): int(value) for name, value in conn.execute(SEQUENCES_SQL).fetchall()}


def snapshot(conn: psycopg.Connection, catalog: Catalog) -> Snapshot:
    """The data of the catalog's tables and where each sequence stands, as the guard compares them."""
    counted = {name: rows for name in catalog.tables if (rows := _count(conn, name)) is not None}
    taken, budget = {}, CELLS
    for name in sorted(counted, key=lambda n: counted[n] * len(catalog.tables[n].columns)):
        columns = tuple((c.name, c.type) for c in catalog.tables[name].columns)
        taken[name] = _read(conn, name, columns, counted[name], budget)
        budget -= len(taken[name].cells or ()) * len(columns)
    return Snapshot(taken, _sequences(conn), {name: _identity(conn, name) for name in taken if taken[name].rows})


def _declared(declared: Collection[str], table: str, column: str | None = None) -> bool:
    """The story said it drops this table (or this column): ``users``, ``public.users``, ``users.note``."""
    full = table if "." in table else f"public.{table}"
    wanted = full if column is None else f"{full}.{column}"
    return any((d if d.count(".") > (0 if column is None else 1) else f"public.{d}") in (wanted, full) for d in declared)


def data_lost(conn: psycopg.Connection, before: Snapshot, after: Catalog, declared: Collection[str] = ()) -> list[str]:
    """One line per table whose earlier rows are not all still there, unchanged, per table or
    column that held data and is gone (unless ``declared``: the story's drops), and per sequence
    set back."""
    positions = _sequences(conn)
    problems = [f"sequence {name}: it would go back from {value} to {positions.get(name, 'its start')}"
                for name, value in before.sequences.items() if positions.get(name, 0) < value]
    for name, (oid, numbered) in before.identities.items():  # by OID and number: a rename keeps, a drop loses
        now = _surviving(conn, oid)
        if now is None:
            if not _declared(declared, name):
                problems.append(f"{name}: the table held {before.tables[name].rows} row(s) and is gone; the story "
                                "does not declare it in drops")
            continue
        problems += [f"{name}.{column}: the column held values in {before.tables[name].rows} row(s) and is gone; the "
                     "story does not declare it in drops" for number, column in numbered.items()
                     if number not in now and not _declared(declared, name, column)]
    for name, old in before.tables.items():
        table = after.tables.get(name)
        rows = _count(conn, name)
        if table is not None and rows is None:
            problems.append(f"{name}: its rows could not be read after the promotion (a privilege or a policy "
                            "hides them)")
            continue
        if table is None or rows is None:
            continue  # gone (said above, by OID) or renamed (its rows stay)
        kept = {(c.name, c.type) for c in table.columns}
        same = [i for i, column in enumerate(old.columns) if column in kept]
        if old.cells is None or not same:  # too large, or no column kept its name and type: count
            if rows < old.rows:
                problems.append(f"{name}: {old.rows - rows} of its {old.rows} row(s) would be deleted")
            continue
        kept_rows = _read(conn, name, tuple(old.columns[i] for i in same), rows).cells or ()
        missing = Counter(tuple(row[i] for i in same) for row in old.cells)
        missing.subtract(Counter(kept_rows))
        lost = sum(n for n in missing.values() if n > 0)
        if lost:
            names = ", ".join(old.columns[i][0] for i in same)
            problems.append(f"{name}: {lost} of its {old.rows} row(s) would be deleted or changed (in {names})")
    return [f"{p}; the harness does not promote the loss or change of data (a person applies such a migration)"
            for p in problems]



def rows_added(conn: psycopg.Connection, before: Snapshot, after: Catalog, declared: Collection[str] = ()) -> list[str]:
    """One line per table that holds more rows than before the promotion (a table it created:
    any row), unless the story lists it in ``writes`` (a data step): a migration that adds an
    owner to every tenant or a key with a known secret is as much a change of data as a delete."""
    problems = []
    renamed = {oid: name for name, (oid, _) in before.identities.items()}  # by OID: a renamed table is not new
    for name in sorted(after.tables):
        if _declared(declared, name):
            continue
        rows = _count(conn, name)
        if name not in before.tables:
            oid = conn.execute("SELECT pg_catalog.to_regclass(%s)::pg_catalog.oid", (_regclass(conn, name),)).fetchone()
            name_before = renamed.get(int(oid[0])) if oid and oid[0] is not None else None
        else:
            name_before = name
        had = before.tables[name_before].rows if name_before in before.tables else 0
        if rows is None and name_before is None:
            problems.append(f"{name}: its rows could not be read after the promotion")
        elif rows is not None and rows > had:
            problems.append(f"{name}: {rows - had} row(s) would be added ({'it held ' + str(had) if name_before else 'a new table'}); "
                            "the story does not declare it in writes")
    return [f"{p}; the harness promotes data only where the story declares a data step" for p in problems]
