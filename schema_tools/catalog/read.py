"""Read the catalog in four pg_catalog queries, whatever the number of tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

from .model import BOOKKEEPING, Attached, Catalog, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, Unique

ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
IDENTITY = {"a": "always", "d": "by default", "": ""}

SCHEMA_FILTER = """
  (CASE WHEN %(schemas)s::text[] IS NULL
        THEN n.nspname NOT IN ('pg_catalog', 'information_schema', 'sqitch') AND n.nspname NOT LIKE 'pg\\_%%'
        ELSE n.nspname = ANY(%(schemas)s::text[]) END)
  AND NOT (c.relname = ANY(%(skip)s::text[]))
"""

COLUMNS_SQL = """
SELECT c.oid, n.nspname, c.relname, c.relkind, td.description,
       a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN d.adbin IS NOT NULL THEN pg_get_expr(d.adbin, d.adrelid) END,
       a.attidentity, a.attgenerated, cd.description
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
LEFT JOIN pg_description td ON td.objoid = c.oid AND td.classoid = 'pg_class'::regclass AND td.objsubid = 0
LEFT JOIN pg_description cd ON cd.objoid = c.oid AND cd.classoid = 'pg_class'::regclass AND cd.objsubid = a.attnum
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND """ + SCHEMA_FILTER + """
ORDER BY n.nspname, c.relname, a.attnum
"""

CONSTRAINTS_SQL = """
SELECT c.oid, con.conname, con.contype, CASE WHEN con.contype = 'c' THEN pg_get_constraintdef(con.oid) END,
       con.conkey::int[], con.convalidated, con.condeferrable, con.condeferred, con.confupdtype, con.confdeltype,
       fn.nspname, fc.relname, con.confrelid,
       CASE WHEN con.contype = 'f' THEN
            ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
                  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)::text[] END
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c') AND NOT c.relispartition AND """ + SCHEMA_FILTER + """
ORDER BY con.conname
"""

INDEXES_SQL = """
SELECT c.oid, ic.relname, i.indisunique, i.indisprimary, i.indisvalid, am.amname,
       CASE WHEN i.indpred IS NOT NULL THEN pg_get_expr(i.indpred, i.indrelid) END,
       i.indkey::int[], i.indnkeyatts,
       CASE WHEN 0 = ANY (i.indkey::int[]) THEN
            ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k)::text[] END,
       con.conname
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND """ + SCHEMA_FILTER + """
ORDER BY ic.relname
"""


ATTACHED_SQL = """
SELECT tg.tgrelid, 'trigger', tg.tgname, pg_get_triggerdef(tg.oid), tg.tgenabled <> 'D'
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT tg.tgisinternal AND """ + SCHEMA_FILTER + """
UNION ALL
SELECT r.ev_class, 'rule', r.rulename, pg_get_ruledef(r.oid), r.ev_enabled <> 'D'
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND """ + SCHEMA_FILTER + """
UNION ALL
SELECT p.polrelid, 'policy', p.polname,
       concat_ws(' ', CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                 'FOR', CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                      WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                 'USING (' || pg_get_expr(p.polqual, p.polrelid) || ')',
                 'WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')'),
       c.relrowsecurity
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE """ + SCHEMA_FILTER + """
UNION ALL
SELECT NULL, 'event trigger', e.evtname, e.evtevent || ' EXECUTE FUNCTION ' || e.evtfoid::regproc::text,
       e.evtenabled <> 'D'
FROM pg_event_trigger e
ORDER BY 2, 3
"""


def _display(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def _definition(table: str, name: str, unique: bool, method: str, keys: tuple[str, ...],
                include: tuple[str, ...], predicate: str | None) -> str:
    """CREATE INDEX text rebuilt from the parts (pg_get_indexdef costs a deparse per index)."""
    text = f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON {table} USING {method} ({', '.join(keys)})"
    if include:
        text += f" INCLUDE ({', '.join(include)})"
    return text + (f" WHERE {predicate}" if predicate else "")


def read_catalog(conn: psycopg.Connection, schemas: Sequence[str] | None = None,
                 include_bookkeeping: bool = False) -> Catalog:
    """All tables of ``schemas`` (default: every non-system schema), in four queries."""
    params = {"schemas": list(schemas) if schemas is not None else None,
              "skip": [] if include_bookkeeping else list(BOOKKEEPING)}
    columns: dict[int, list[Column]] = defaultdict(list)
    names: dict[int, dict[int, str]] = defaultdict(dict)
    heads: dict[int, tuple[str, str, str, str | None]] = {}
    for (oid, schema, table, kind, comment, num, name, type_, not_null, default, identity, generated,
         col_comment) in conn.execute(COLUMNS_SQL, params).fetchall():
        heads[oid] = (schema, table, kind, comment)
        if name is not None:
            names[oid][num] = name
            columns[oid].append(Column(name, type_, not_null, None if generated else default,
                                       IDENTITY.get(identity, ""), default if generated else None, col_comment))

    pks: dict[int, PrimaryKey] = {}
    fks: dict[int, list[ForeignKey]] = defaultdict(list)
    uniques: dict[int, list[Unique]] = defaultdict(list)
    checks: dict[int, list[CheckConstraint]] = defaultdict(list)
    for (oid, name, kind, definition, keys, validated, deferrable, deferred, upd, dele, ref_schema, ref_table,
         _, ref_cols) in conn.execute(CONSTRAINTS_SQL, params).fetchall():
        cols = tuple(names[oid].get(k, "?") for k in keys or ())
        if kind == "p":
            pks[oid] = PrimaryKey(name, cols)
        elif kind == "u":
            uniques[oid].append(Unique(name, cols))
        elif kind == "c":
            expression = definition.removeprefix("CHECK ").removesuffix(" NOT VALID")
            checks[oid].append(CheckConstraint(name, expression, cols, validated))
        else:
            fks[oid].append(ForeignKey(name, cols, _display(ref_schema, ref_table), tuple(ref_cols),
                                       ACTIONS[dele], ACTIONS[upd], deferrable, deferred, validated))

    indexes: dict[int, list[Index]] = defaultdict(list)
    for (oid, name, unique, primary, valid, method, predicate, indkey, nkey, expressions,
         constraint) in conn.execute(INDEXES_SQL, params).fetchall():
        keys = tuple(expressions) if expressions else tuple(names[oid].get(k, "?") for k in indkey[:nkey])
        include = tuple(names[oid].get(k, "?") for k in indkey[nkey:])
        schema, table = heads[oid][0], heads[oid][1]
        definition = _definition(_display(schema, table), name, unique, method, keys, include, predicate)
        indexes[oid].append(Index(name, keys, unique, primary, method, predicate, valid, definition, constraint, include))

    attached: dict[int | None, list[Attached]] = defaultdict(list)
    for oid, kind, name, definition, enabled in conn.execute(ATTACHED_SQL, params).fetchall():
        attached[oid].append(Attached(kind, name, definition, enabled))

    tables = {}
    for oid, (schema, table, kind, comment) in sorted(heads.items(), key=lambda item: item[1][:2]):
        tables[_display(schema, table)] = Table(
            schema, table, tuple(columns[oid]), pks.get(oid), tuple(fks[oid]), tuple(uniques[oid]),
            tuple(checks[oid]), tuple(indexes[oid]), comment, kind == "p", tuple(attached[oid]))
    return Catalog(tables, tuple(attached[None]))
