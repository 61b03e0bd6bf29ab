"""INVALID indexes a failed or killed ``CREATE INDEX CONCURRENTLY`` left: the runner records the
intent to build each one before it runs, and the next run drops the INVALID leftover of such an
intent and builds it again. An INVALID index nobody recorded is left for validate to report."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from ..migration_files.model import Migration
from ..sql.statement import Statement
from . import history

INTENT = "index-intent"


def concurrent_indexes(statements: Sequence[Statement]) -> dict[int, str]:
    """The named indexes ``CREATE INDEX CONCURRENTLY`` statements build (as SQL names, schema
    included when the table's is written), by statement index."""
    found = {}
    for index, stmt in enumerate(statements):
        if stmt.concurrently == "CREATE INDEX":
            built = [t for t in stmt.targets if t.kind == "index"]
            if built:
                found[index] = built[0].sql
    return found


QUALIFIED_SQL = """SELECT quote_ident(n.nspname) || '.' || quote_ident(%s) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)"""


def qualified_index(conn: psycopg.Connection, stmt: Statement, name: str) -> str:
    """The index ``stmt`` builds, named with the schema its table resolves to in ``conn``'s
    session as it is now (the migration's search_path): what another session can find."""
    table = next((t for t in stmt.targets if t.kind == "table"), None)
    index = next((t for t in stmt.targets if t.kind == "index"), None)
    if table is None or index is None:
        return name
    try:
        row = conn.execute(QUALIFIED_SQL, (index.name, table.sql)).fetchone()
    except psycopg.Error:
        return name
    return str(row[0]) if row and row[0] else name


def invalid(conn: psycopg.Connection, name: str) -> bool:
    """True when the index called ``name`` (SQL text) exists and is INVALID."""
    row = conn.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)).fetchone()
    return bool(row and row[0])


def _regclass(conn: psycopg.Connection, name: str) -> int | None:
    """The OID of the relation a name (SQL text) resolves to, or None (also for a malformed name)."""
    try:
        with conn.transaction():
            row = conn.execute("SELECT to_regclass(%s)::oid", (name,)).fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row and row[0] is not None else None


def _intended(conn: psycopg.Connection, books: history.Books, m: Migration, name: str) -> bool:
    """A run of ``m`` recorded the intent to build the index ``name``. Intents are compared by the
    relation the server resolves them to: an earlier version recorded the name as written."""
    recorded = [row[0] for row in conn.execute(f"SELECT detail FROM {books.table('_schema_tools_events')} "
                                               "WHERE operation = %s AND migration_id = %s".encode(), (INTENT, m.id))]
    if name in recorded:
        return True
    oid = _regclass(conn, name)
    return oid is not None and any(_regclass(conn, detail) == oid for detail in recorded)


def heal(conn: psycopg.Connection, books: history.Books, migrations: Sequence[Migration]) -> list[str]:
    """Drop the INVALID indexes a failed or killed run of these migrations left (only those one
    recorded the intent to build: an INVALID index of someone else's is left for validate to report)."""
    building = [(m, name) for m in migrations if not m.transactional
                for name in concurrent_indexes(m.statements).values()]
    if not building:
        return []
    by_id = {m.id: m for m, _ in building}
    building += [(by_id[mid], detail) for mid, detail in conn.execute(  # as recorded: with the schema it resolved to
        f"SELECT migration_id, detail FROM {books.table('_schema_tools_events')} WHERE operation = %s "
        "AND migration_id = ANY(%s)".encode(), (INTENT, list(by_id)))]
    building = list({(m.id, name): (m, name) for m, name in building}.values())
    leftovers = {row[0] for row in conn.execute(
        "SELECT name FROM unnest(%s::text[]) name JOIN pg_index i ON i.indexrelid = to_regclass(name) "
        "WHERE NOT i.indisvalid", ([name for _, name in building],))}
    healed = []
    for m, name in building:
        if name in leftovers and _intended(conn, books, m, name):
            conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.SQL(name)))  # quoted by the parser's reading
            history.record_event(conn, books, "index-healed", m.id, name)
            healed.append(f"dropped the INVALID index {name} a failed run of {m.id} left; building it again")
    return healed
