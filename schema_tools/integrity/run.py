"""Run data checks: read-only, statement_timeout honoured, one scan of the checked table each."""

from __future__ import annotations

import psycopg
from psycopg import sql

from .model import DUPLICATES, DataCheck, Result, pk_text, table_ident


def _duplicates_sql(check: DataCheck, samples: int) -> sql.Composed:
    """One pass over the key (an index-only scan when an index leads with it); sample keys are
    then looked up only for the duplicated values, so clean data costs a single scan."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in check.columns)
    not_null = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in check.columns)
    where = sql.SQL(" AND ({})").format(check.where) if check.where is not None else sql.SQL("")
    return sql.SQL(
        "WITH dup AS MATERIALIZED (SELECT {cols}, count(*) AS n FROM {table} c WHERE {not_null}{where} "
        "GROUP BY {cols} HAVING count(*) > 1) "
        "SELECT (SELECT count(*) FROM dup), (SELECT coalesce(sum(n), 0) FROM dup), "
        "ARRAY(SELECT {pk} FROM {table} c JOIN (SELECT {cols} FROM dup ORDER BY {cols} LIMIT {limit}) d "
        "USING ({cols}) ORDER BY 1 LIMIT {limit})"
    ).format(pk=pk_text(check.table), table=table_ident(check.table), not_null=not_null, where=where, cols=cols,
             limit=sql.Literal(samples))


def _rows_sql(check: DataCheck, samples: int) -> sql.Composed:
    return sql.SQL(
        "WITH bad AS MATERIALIZED (SELECT {pk} AS k FROM {table} c WHERE {predicate}) "
        "SELECT 0, (SELECT count(*) FROM bad), ARRAY(SELECT k FROM bad ORDER BY k LIMIT {limit})"
    ).format(pk=pk_text(check.table), table=table_ident(check.table), predicate=check.predicate,
             limit=sql.Literal(samples))


def run_check(conn: psycopg.Connection, check: DataCheck, samples: int, statement_timeout: str) -> Result:
    """One check in its own read-only transaction (ACCESS SHARE locks only)."""
    query = _duplicates_sql(check, samples) if check.shape == DUPLICATES else _rows_sql(check, samples)
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            # JIT compilation costs more than it saves on one-pass checks like these.
            conn.execute("SELECT set_config('statement_timeout', %s, true), set_config('jit', 'off', true)",
                         (statement_timeout,))
            row = conn.execute(query).fetchone()
    except psycopg.Error as exc:
        message = exc.diag.message_primary or str(exc).splitlines()[0]
        return Result(check, 0, (), 0, message)
    groups, count, keys = row  # type: ignore[misc]
    unique_keys = tuple(dict.fromkeys(keys))[:samples]
    return Result(check, int(count), unique_keys, int(groups))
