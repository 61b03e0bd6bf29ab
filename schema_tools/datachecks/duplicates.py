"""Duplicate checks: one ordered pass over the key, split into key ranges that run in parallel
when the table is big and a btree index already keeps the key in order.

Duplicates of a key agree on every key column, so they always fall in the same range of its
first index column: each range can be checked alone, and PostgreSQL's Parallel Append hands
the ranges to its workers. The ranges come from the column's histogram in pg_stats (equal-sized
by construction); EXPLAIN must show every range read through an index condition, or the plain
one-pass query runs instead. On PostgreSQL 16+ a one-column key is first counted per range
(rows minus distinct values, no sort: the index order is kept); clean data ends there, and only
the ranges holding duplicates are read again, for their values and sample keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from .model import DataCheck, pk_text, table_ident

Row = tuple[int, int, list[str]]  # (duplicated values, rows holding them, sample primary keys)

# Below this many rows one pass takes well under a second: not worth a second plan.
RANGE_SPLIT_MIN_ROWS = 200_000
RANGES_PER_PROCESS = 3  # small ranges even out workers that finish early
# PostgreSQL 16 aggregates presorted input without sorting it again: count(DISTINCT) over an
# index walk then costs a comparison per row, half of what a GroupAggregate per value costs.
PRESORTED_AGGREGATES = 160000


@dataclass(frozen=True)
class _Split:
    columns: tuple[str, ...]  # the key in the index's order (so no sort is needed)
    ranges: tuple[sql.Composable, ...]


def duplicates(conn: psycopg.Connection, check: DataCheck, samples: int) -> Row:
    """Run inside the check's read-only transaction."""
    split = _split(conn, check)
    if split is None:
        return _fetch(conn, _one_pass_sql(check, check.columns, samples))
    conn.execute("SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0")
    if conn.info.server_version >= PRESORTED_AGGREGATES and len(check.columns) == 1:
        counts = _extra_rows_sql(check, split)
        if _reads_by_index(conn, counts, check):
            dirty = [split.ranges[r] for r, extra in conn.execute(counts, binary=True).fetchall() if extra]
            if not dirty:
                return 0, 0, []
            split = _Split(split.columns, tuple(dirty))  # look for the values only where they are
    groups = _groups_by_range_sql(check, split)
    if not _reads_by_index(conn, groups, check):
        return _fetch(conn, _one_pass_sql(check, check.columns, samples))
    return _fetch(conn, _report_sql(check, split.columns, groups, samples))


def _fetch(conn: psycopg.Connection, query: sql.Composed) -> Row:
    groups, count, keys = conn.execute(query, binary=True).fetchone()  # type: ignore[misc]
    return int(groups), int(count), list(keys)


def _filters(check: DataCheck, narrowed: sql.Composable | None = None) -> sql.Composable:
    parts: list[sql.Composable] = [sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in check.columns]
    parts += [sql.SQL("({})").format(w) for w in (check.where, narrowed) if w is not None]
    return sql.SQL(" AND ").join(parts)


def _cols(columns: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def _count_name(columns: tuple[str, ...]) -> sql.Identifier:
    """A name for the group's row count that no key column has (a column may well be called n)."""
    name = "n"
    while name in columns:
        name += "_"
    return sql.Identifier(name)


def _groups_sql(check: DataCheck, columns: tuple[str, ...], narrowed: sql.Composable | None = None) -> sql.Composed:
    return sql.SQL("SELECT {cols}, count(*) AS {n} FROM {table} c WHERE {filters} GROUP BY {cols} HAVING count(*) > 1"
                   ).format(cols=_cols(columns), n=_count_name(columns), table=table_ident(check.table),
                            filters=_filters(check, narrowed))


def _report_sql(check: DataCheck, columns: tuple[str, ...], groups: sql.Composable, samples: int) -> sql.Composed:
    """Counts from the duplicated groups; sample keys looked up only for the first few values."""
    cols = _cols(columns)
    return sql.SQL(
        "WITH dup AS MATERIALIZED ({groups}) "
        "SELECT (SELECT count(*) FROM dup), (SELECT coalesce(sum({n}), 0) FROM dup), "
        "ARRAY(SELECT {pk} FROM {table} c JOIN (SELECT {cols} FROM dup ORDER BY {cols} LIMIT {limit}) d "
        "USING ({cols}) ORDER BY 1 LIMIT {limit})"
    ).format(groups=groups, pk=pk_text(check.table), table=table_ident(check.table), cols=cols,
             n=_count_name(columns), limit=sql.Literal(samples))


def _one_pass_sql(check: DataCheck, columns: tuple[str, ...], samples: int) -> sql.Composed:
    """One pass over the key (an index-only scan when an index leads with it)."""
    return _report_sql(check, columns, _groups_sql(check, columns), samples)


def _groups_by_range_sql(check: DataCheck, split: _Split) -> sql.Composed:
    return sql.SQL(" UNION ALL ").join(sql.SQL("({})").format(_groups_sql(check, split.columns, r))
                                       for r in split.ranges)


def _extra_rows_sql(check: DataCheck, split: _Split) -> sql.Composed:
    """Per range: rows beyond the first of each value (0 everywhere means no duplicates)."""
    column = sql.Identifier(check.columns[0])
    return sql.SQL(" UNION ALL ").join(
        sql.SQL("(SELECT {i}, count({c}) - count(DISTINCT {c}) FROM {table} c WHERE {filters})").format(
            i=sql.Literal(i), c=column, table=table_ident(check.table), filters=_filters(check, r))
        for i, r in enumerate(split.ranges))


def _split(conn: psycopg.Connection, check: DataCheck) -> _Split | None:
    """Key ranges when the table is big, a complete valid btree index starts with the key's
    columns, the server may use parallel workers, and the first column has a histogram."""
    wanted = set(check.columns)
    index = next((i for i in check.table.indexes if i.valid and i.method == "btree" and i.predicate is None
                  and set(i.keys[:len(wanted)]) == wanted), None)
    if index is None:
        return None
    columns = index.keys[:len(wanted)]
    row = conn.execute(
        "SELECT c.reltuples, current_setting('max_parallel_workers_per_gather')::int, "
        "(SELECT s.histogram_bounds::text::text[] FROM pg_stats s WHERE s.schemaname = n.nspname "
        "AND s.tablename = c.relname AND s.attname = %s AND NOT s.inherited) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (columns[0], check.table.schema, check.table.name)).fetchone()
    if row is None:
        return None
    rows, workers, bounds = row
    if rows < RANGE_SPLIT_MIN_ROWS or workers < 1 or not bounds:
        return None
    wanted_ranges = RANGES_PER_PROCESS * (workers + 1)
    step = max(1, (len(bounds) - 1) // wanted_ranges)
    points = list(dict.fromkeys(bounds[step:-1:step]))
    if not points:
        return None
    return _Split(columns, tuple(_ranges(columns[0], points)))


def _ranges(column: str, points: list[str]) -> list[sql.Composable]:
    """(-inf, p1), [p1, p2), ..., [pn, +inf): every value in exactly one range."""
    c = sql.Identifier(column)
    ranges: list[sql.Composable] = [sql.SQL("{} < {}").format(c, sql.Literal(points[0]))]
    ranges += [sql.SQL("{0} >= {1} AND {0} < {2}").format(c, sql.Literal(low), sql.Literal(high))
               for low, high in zip(points, points[1:])]
    ranges.append(sql.SQL("{} >= {}").format(c, sql.Literal(points[-1])))
    return ranges


def _reads_by_index(conn: psycopg.Connection, query: sql.Composed, check: DataCheck) -> bool:
    """Every read of the table goes through an index condition: a range the index cannot
    serve would read the whole table once per range. A bound the column's type cannot read
    back (its histogram is text) makes the plan fail: then no ranges either."""
    try:
        with conn.transaction():
            (plan,), = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query)).fetchall()
    except psycopg.DataError:
        return False

    def reads(node: dict[str, Any]) -> list[str]:
        own = [node["Node Type"]] if node.get("Relation Name") == check.table.name else []
        return own + [kind for child in node.get("Plans", ()) for kind in reads(child)]

    kinds = reads(plan[0]["Plan"])
    return bool(kinds) and all(k in ("Index Only Scan", "Index Scan", "Bitmap Heap Scan") for k in kinds)
