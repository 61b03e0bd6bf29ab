"""Read the catalog in three pg_catalog queries, whatever the number of tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import psycopg

from .model import Catalog, Check, Column, ForeignKey, Index, PrimaryKey, Table, Unique

BOOKKEEPING = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock",
               "_schema_tools_migrations", "_schema_tools_events")
ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
IDENTITY = {"a": "always", "d": "by default", "": ""}

SCHEMA_FILTER = """
  (CASE WHEN %(schemas)s::text[] IS NULL
        THEN n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'
        ELSE n.nspname = ANY(%(schemas)s::text[]) END)
  AND NOT (c.relname = ANY(%(skip)s::text[]))
"""

COLUMNS_SQL = """
SELECT n.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class'),
       a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
       a.attidentity, CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END,
       col_description(c.oid, a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND """ + SCHEMA_FILTER + """
ORDER BY n.nspname, c.relname, a.attnum
"""

CONSTRAINTS_SQL = """
SELECT n.nspname, c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid),
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord)::text[],
       con.convalidated, con.condeferrable, con.condeferred, con.confupdtype, con.confdeltype,
       fn.nspname, fc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)::text[]
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c') AND NOT c.relispartition AND """ + SCHEMA_FILTER + """
ORDER BY n.nspname, c.relname, con.conname
"""

INDEXES_SQL = """
SELECT n.nspname, c.relname, ic.relname, i.indisunique, i.indisprimary, i.indisvalid, am.amname,
       pg_get_indexdef(i.indexrelid), pg_get_expr(i.indpred, i.indrelid),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k)::text[],
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(i.indnkeyatts + 1, i.indnatts) k)::text[],
       con.conname
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND """ + SCHEMA_FILTER + """
ORDER BY n.nspname, c.relname, ic.relname
"""


def _display(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def read_catalog(conn: psycopg.Connection, schemas: Sequence[str] | None = None,
                 include_bookkeeping: bool = False) -> Catalog:
    """All tables of ``schemas`` (default: every non-system schema), in three queries."""
    params = {"schemas": list(schemas) if schemas is not None else None,
              "skip": [] if include_bookkeeping else list(BOOKKEEPING)}
    columns: dict[str, list[Column]] = defaultdict(list)
    heads: dict[str, tuple[str, str, str, str | None]] = {}
    for schema, table, kind, comment, name, type_, not_null, default, identity, generated, col_comment in \
            conn.execute(COLUMNS_SQL, params).fetchall():
        key = _display(schema, table)
        heads[key] = (schema, table, kind, comment)
        if name is not None:
            columns[key].append(Column(name, type_, not_null, default, IDENTITY.get(identity, ""), generated, col_comment))

    pks: dict[str, PrimaryKey] = {}
    fks: dict[str, list[ForeignKey]] = defaultdict(list)
    uniques: dict[str, list[Unique]] = defaultdict(list)
    checks: dict[str, list[Check]] = defaultdict(list)
    for (schema, table, name, kind, definition, cols, validated, deferrable, deferred,
         upd, dele, ref_schema, ref_table, ref_cols) in conn.execute(CONSTRAINTS_SQL, params).fetchall():
        key = _display(schema, table)
        if kind == "p":
            pks[key] = PrimaryKey(name, tuple(cols))
        elif kind == "u":
            uniques[key].append(Unique(name, tuple(cols)))
        elif kind == "c":
            expression = definition.removeprefix("CHECK ").removesuffix(" NOT VALID")
            checks[key].append(Check(name, expression, tuple(cols), validated))
        else:
            fks[key].append(ForeignKey(name, tuple(cols), _display(ref_schema, ref_table), tuple(ref_cols),
                                       ACTIONS[dele], ACTIONS[upd], deferrable, deferred, validated))

    indexes: dict[str, list[Index]] = defaultdict(list)
    for (schema, table, name, unique, primary, valid, method, definition, predicate,
         keys, include, constraint) in conn.execute(INDEXES_SQL, params).fetchall():
        indexes[_display(schema, table)].append(
            Index(name, tuple(keys), unique, primary, method, predicate, valid, definition, constraint, tuple(include)))

    tables = {
        key: Table(schema, table, tuple(columns[key]), pks.get(key), tuple(fks[key]), tuple(uniques[key]),
                   tuple(checks[key]), tuple(indexes[key]), comment, kind == "p")
        for key, (schema, table, kind, comment) in heads.items()
    }
    return Catalog(tables)
