"""Run data checks: read-only, statement_timeout honoured, at most one scan of the checked table each."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from .duplicates import duplicates
from .model import DUPLICATES, DataCheck, Reference, Result, col, pk_text, table_ident

# Walking a column's distinct values through an index costs one descent per value (~10 us
# here) against ~0.1 us per row for a scan: it pays when rows outnumber values by this much.
ROWS_PER_VALUE_FOR_INDEX_WALK = 200
INDEX_WALK_TYPES = {"smallint", "integer", "bigint", "uuid"}  # no collation or opclass to get wrong


def _rows_sql(check: DataCheck, samples: int) -> sql.Composed:
    predicate = check.reference.orphan_predicate() if check.reference is not None else check.predicate
    return sql.SQL(
        "WITH bad AS MATERIALIZED (SELECT {pk} AS k FROM {table} c WHERE {predicate}) "
        "SELECT 0, (SELECT count(*) FROM bad), ARRAY(SELECT k FROM bad ORDER BY k LIMIT {limit})"
    ).format(pk=pk_text(check.table), table=table_ident(check.table), predicate=predicate,
             limit=sql.Literal(samples))


def _orphans_by_index_walk_sql(check: DataCheck, ref: Reference, samples: int) -> sql.Composed:
    """Orphans without reading every row: a recursive query descends the index once per
    distinct value (a loose index scan), keeps the values with no parent row, then fetches
    only the rows holding those values through the same index."""
    column, parent_column = ref.columns[0], ref.ref_columns[0]
    return sql.SQL(
        "WITH RECURSIVE v(x) AS ((SELECT {col} FROM {table} c WHERE {col} IS NOT NULL ORDER BY 1 LIMIT 1) "
        "UNION ALL SELECT (SELECT {col} FROM {table} c WHERE {col} > v.x ORDER BY 1 LIMIT 1) FROM v "
        "WHERE v.x IS NOT NULL), "
        "orphan AS MATERIALIZED (SELECT x FROM v WHERE x IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM {parent} p WHERE {parent_col} = v.x)), "
        "bad AS MATERIALIZED (SELECT {pk} AS k FROM {table} c WHERE {col} IN (SELECT x FROM orphan)) "
        "SELECT 0, (SELECT count(*) FROM bad), ARRAY(SELECT k FROM bad ORDER BY k LIMIT {limit})"
    ).format(col=col(column), table=table_ident(check.table), parent=table_ident(ref.parent),
             parent_col=col(parent_column, "p"), pk=pk_text(check.table), limit=sql.Literal(samples))


def _index_walk_pays(conn: psycopg.Connection, check: DataCheck) -> bool:
    """A one-column integer/uuid reference, a complete btree index leading with it, and
    statistics saying its distinct values are few next to the rows."""
    ref = check.reference
    if ref is None or len(ref.columns) != 1:
        return False
    column = check.table.column(ref.columns[0])
    if column is None or column.type not in INDEX_WALK_TYPES or not any(
            i.valid and i.method == "btree" and i.predicate is None and i.keys[:1] == (column.name,)
            for i in check.table.indexes):
        return False
    row = conn.execute(
        "SELECT s.n_distinct, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = %s "
        "WHERE n.nspname = %s AND c.relname = %s", (column.name, check.table.schema, check.table.name)).fetchone()
    if row is None or row[1] <= 0:
        return False  # never analysed: nothing to go by, so scan
    n_distinct, rows = float(row[0]), float(row[1])
    values = n_distinct if n_distinct > 0 else -n_distinct * rows
    return values * ROWS_PER_VALUE_FOR_INDEX_WALK <= rows


@contextmanager
def reader(conn: psycopg.Connection) -> Iterator[str | None]:
    """A role for the block that may read every table and do nothing else (no REPLICATION, no
    writes, no grants of functions that act): data checks run as it, so a predicate or a pending
    CHECK that calls something that acts is refused by the server itself. None when this login may
    not create roles (then checks run as it, read-only and with the static refusals only)."""
    row = conn.execute("SELECT rolsuper, rolsuper OR rolcreaterole FROM pg_catalog.pg_roles "
                       "WHERE rolname = current_user").fetchone()
    if not (row and row[1]):
        yield None
        return
    name = f"schema_tools_reader_{secrets.token_hex(6)}"
    role = sql.Identifier(name)
    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN INHERIT" + (" BYPASSRLS" if row[0] else "")).format(role))
    try:
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(role))
        if conn.info.server_version >= 140000:
            conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(role))
        else:  # pragma: no cover -- PostgreSQL 13
            for (schema,) in conn.execute("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                                          "AND nspname <> 'information_schema'").fetchall():
                conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {0} TO {1}; GRANT SELECT ON ALL TABLES IN SCHEMA {0} "
                                     "TO {1}").format(sql.Identifier(schema), role))
        yield name
    finally:
        conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(role))


def run_check(conn: psycopg.Connection, check: DataCheck, samples: int, statement_timeout: str,
              role: str | None = None) -> Result:
    """One check in its own read-only transaction (ACCESS SHARE locks only), as ``role`` when given."""
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            if role is not None:
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            # JIT compilation costs more than it saves on one-pass checks like these.
            conn.execute("SELECT set_config('statement_timeout', %s, true), set_config('jit', 'off', true)",
                         (statement_timeout,))
            if check.shape == DUPLICATES:
                groups, count, keys = duplicates(conn, check, samples)
            else:
                query = (_orphans_by_index_walk_sql(check, check.reference, samples)
                         if check.reference is not None and _index_walk_pays(conn, check) else _rows_sql(check, samples))
                groups, count, keys = conn.execute(query, binary=True).fetchone()  # type: ignore[misc]
    except psycopg.Error as exc:
        message = exc.diag.message_primary or str(exc).splitlines()[0]
        return Result(check, 0, (), 0, message)
    unique_keys = tuple(dict.fromkeys(keys))[:samples]
    return Result(check, int(count), unique_keys, int(groups))
