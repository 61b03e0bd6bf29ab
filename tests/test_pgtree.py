"""The model reads PostgreSQL's own parse trees: expressions printed from a tree read back as the
same tree, types come out in format_type's spelling (checked against a real server), and forms
the printer does not know are printed by pglast's deparser, never guessed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from schema_tools.sql.printer import Unprintable, expression_sql, rename_column, sql
from schema_tools.sql.statement import Statement
from schema_tools.sql.tree import body, parse_tree
from schema_tools.sql.typenames import type_text

EXPRESSIONS = [
    "0", "-1", "1.5", "'it''s'", "NULL", "true", "false", "B'0101'", "X'1F'", "now()", "CURRENT_TIMESTAMP",
    "CURRENT_TIMESTAMP(3)", "CURRENT_DATE", "LOCALTIMESTAMP", "CURRENT_USER", "'{}'::jsonb", "'[]'::json",
    "'{}'::integer[]", "'x'::character varying(10)", "ARRAY[]::text[]", "interval '1 day'", "now() + interval '1 hour'",
    "gen_random_uuid()", "public.uuid_generate_v4()", "nextval('s_id_seq'::regclass)", "lower(email)",
    "count(*)", "count(DISTINCT a)", "a > 0", "a >= 0 AND a < 10", "a = 1 OR b = 2 AND c = 3", "(a = 1 OR b = 2) AND c = 3",
    "NOT (a AND b)", "a IS NULL", "a IS NOT NULL", "(a > 0) IS TRUE", "a IS DISTINCT FROM b", "a IS NOT DISTINCT FROM b",
    "a IN ('x', 'y')", "a NOT IN (1, 2)", "a = ANY (ARRAY[1, 2])", "a <> ALL (ARRAY['x'])", "a BETWEEN 1 AND 2",
    "a NOT BETWEEN 1 AND 2", "a LIKE 'x%'", "a NOT ILIKE '%y'", "NULLIF(a, '')", "COALESCE(a, b, 0)",
    "GREATEST(a, 1)", "LEAST(a, b)", "CASE WHEN a > 0 THEN 'p' WHEN a < 0 THEN 'n' ELSE 'z' END",
    "CASE a WHEN 1 THEN 'one' END", "length(name) <= 100", "char_length(code) BETWEEN 2 AND 8",
    "\"Order\" > 0", "\"user\" IS NOT NULL", "t.\"select\" = 1", "\"ünïcødé\" <> ''", "-a", "a::text = 'x'",
    "(a + b) * c", "a - (b - c)", "a || '-' || b", "a OPERATOR(pg_catalog.+) 1", "status::text = ANY (ARRAY['a'::text, 'b'::text])",
]
DEPARSED = ["EXTRACT(year FROM created_at) > 2000", "a[1] = 0", "ROW(a, b) IS NOT NULL", "EXISTS (SELECT 1)",
            "sum(a) FILTER (WHERE a > 0)", "substring(name FROM 2)", "a COLLATE \"C\" > 'b'"]


def _expression(text: str) -> Any:
    targets = body(parse_tree(f"SELECT {text}"), "SelectStmt")["targetList"]
    assert len(targets) == 1, text
    return body(targets[0], "ResTarget")["val"]


POSITIONS = ("location", "rexpr_list_start", "rexpr_list_end", "list_start", "list_end")


def _without_positions(value: Any, *ignored: str) -> Any:
    if isinstance(value, dict):
        return {k: _without_positions(v, *ignored) for k, v in value.items() if k not in POSITIONS + ignored}
    return [_without_positions(v, *ignored) for v in value] if isinstance(value, list) else value


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_a_printed_expression_reads_back_as_the_same_tree(text: str) -> None:
    tree = _expression(text)
    printed = sql(tree)
    assert _without_positions(_expression(printed)) == _without_positions(tree), printed


@pytest.mark.parametrize("text", DEPARSED)
def test_forms_the_printer_does_not_know_are_deparsed_by_pglast_not_guessed(text: str) -> None:
    tree = _expression(text)
    with pytest.raises(Unprintable):
        sql(tree)
    printed = expression_sql(tree, f"SELECT {text}")
    # pglast may print SQL syntax as the call it stands for: substring(name FROM 2) as substring(name, 2)
    assert _without_positions(_expression(printed), "funcformat") == _without_positions(tree, "funcformat"), printed


def test_a_non_ascii_statement_still_finds_its_deparsed_expression() -> None:
    statement = "SELECT 'ünïcødé', '名前', EXTRACT(year FROM \"größe\")"
    tree = body(body(parse_tree(statement), "SelectStmt")["targetList"][2], "ResTarget")["val"]
    assert expression_sql(tree, statement).lower() == 'extract(year from "größe")'


@pytest.mark.parametrize(("text", "old", "new", "expected"), [
    ("a > 0 AND b > a", "a", "c", "c > 0 AND b > c"),
    ("lower(email)", "email", "Mail", 'lower("Mail")'),
    ("t.a > 0", "a", "c", "t.a > 0"),  # qualified: another table's column
    ("EXTRACT(year FROM a) > 2000", "a", "c", "EXTRACT(year FROM c) > 2000"),
])
def test_a_renamed_column_is_renamed_in_expressions(text: str, old: str, new: str, expected: str) -> None:
    assert _without_positions(_expression(rename_column(text, old, new))) == _without_positions(_expression(expected))


TYPES = ["bigint", "int8", "int", "integer", "int4", "smallint", "int2", "serial", "bigserial", "smallserial",
         "real", "float4", "double precision", "float8", "float", "numeric", "numeric(10,2)", "decimal(5)", "boolean",
         "bool", "text", "varchar", "varchar(40)", "character varying(3)", "char", "char(2)", "character(5)",
         "timestamp", "timestamp(3)", "timestamp without time zone", "timestamptz", "timestamp(6) with time zone",
         "time", "time(2) with time zone", "timetz", "date", "interval", "interval(2)", "interval year",
         "interval day to second(3)", "interval hour to minute", "interval second(1)", "interval year to month", "uuid", "jsonb", "json", "bytea", "inet",
         "cidr", "macaddr", "bit(3)", "bit varying(8)", "varbit", "tsvector", "money", "xml", "point", "int[]",
         "text[][]", "varchar(5)[]", "citext_like", "public.citext_like", "\"Mixed Case\"", "s.thing", "integer ARRAY"]


def test_types_come_out_as_format_type_spells_them(postgresql: psycopg.Connection) -> None:
    postgresql.autocommit = True
    postgresql.execute("CREATE DOMAIN citext_like AS text; CREATE DOMAIN \"Mixed Case\" AS int; CREATE SCHEMA s; "
                       "CREATE DOMAIN s.thing AS text")
    columns = ", ".join(f"c{i} {t}" for i, t in enumerate(TYPES))
    statement = f"CREATE TABLE typed ({columns})"
    postgresql.execute(statement)
    stored: dict[str, str] = dict(postgresql.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                                     "WHERE attrelid = 'typed'::regclass AND attnum > 0").fetchall())
    ours = {body(e)["colname"]: type_text(body(e)["typeName"]) for e in body(parse_tree(statement))["tableElts"]}
    assert ours == stored


LONG = "a_table_name_long_enough_that_postgresql_must_shorten_it_when_naming"
DEFAULT_NAMES = f"""\
CREATE TABLE {LONG} (
    identifier_of_this_row_which_is_itself_a_rather_long_column_name serial PRIMARY KEY,
    parent bigint REFERENCES {LONG},
    first_column_with_a_long_name integer UNIQUE CHECK (first_column_with_a_long_name > 0),
    second_column_with_a_long_name integer,
    email text,
    UNIQUE (first_column_with_a_long_name, second_column_with_a_long_name),
    CHECK (first_column_with_a_long_name < second_column_with_a_long_name),
    CHECK (second_column_with_a_long_name > 0 OR first_column_with_a_long_name > 0)
);
CREATE INDEX ON {LONG} (second_column_with_a_long_name);
CREATE INDEX ON {LONG} (second_column_with_a_long_name);
CREATE INDEX ON {LONG} (lower(email), (email || 'x'), (email::varchar));
CREATE INDEX ON {LONG} ((NULLIF(email, '')), (COALESCE(email, '')), (GREATEST(parent, 0)));
CREATE TABLE short (a int, b int, "ünïcødé_ünïcødé_ünïcødé_ünïcødé" int);
CREATE INDEX ON short (a, a, b) INCLUDE ("ünïcødé_ünïcødé_ünïcødé_ünïcødé");
ALTER TABLE short ADD FOREIGN KEY (a, b) REFERENCES short (a, b) NOT VALID, ADD UNIQUE (a, b);
"""


def test_unnamed_constraints_indexes_and_sequences_are_named_as_postgresql_names_them(
        empty_db_url: str, tmp_path: Path) -> None:
    """Default names shortened to 63 bytes (the longer part first, never half a character),
    numbered on a clash, made of figured names for expressions: the model must find them by the
    names later migrations use to drop or rename them."""
    from schema_tools.migration_files.read import read_folder
    from schema_tools.sqlmodel import declare

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(DEFAULT_NAMES)
        stored = {row[0] for row in conn.execute(
            "SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace UNION "
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('i', 'S')")}
    (tmp_path / "0001_names.sql").write_text(DEFAULT_NAMES)
    schema = declare(read_folder(tmp_path))
    ours = {name for t in schema.tables.values() for store in (t.indexes, t.fks, t.uniques, t.checks) for name in store}
    ours |= {c.default.split("'")[1] for t in schema.tables.values() for c in t.columns.values()
             if c.default and c.default.startswith("nextval(")}
    assert ours == stored


@pytest.mark.parametrize(("sql", "what"), [
    ("DELETE FROM t", "DELETE"), ("TRUNCATE t", "TRUNCATE"), ("UPDATE t SET a = 1", "UPDATE"),
    ("DO $$ BEGIN NULL; END $$", "a DO block"), ("SELECT wipe()", "a SELECT (its functions may write)"),
    ("CALL p()", "CALL"), ("WITH d AS (DELETE FROM t RETURNING 1) SELECT 1", "a SELECT (its functions may write)"),
    ("CREATE TABLE x AS SELECT wipe()", "CREATE TABLE ... AS (its query's functions may write)"),
    ("DROP INDEX CONCURRENTLY IF EXISTS i", ""), ("ALTER TABLE t DROP COLUMN a", ""), ("COMMENT ON TABLE t IS NULL", ""),
    ("DELETE FROM", "a statement PostgreSQL's parser cannot read"), ("SELECT 1", ""),
    ("SELECT count(*) FROM t", "a SELECT (its functions may write)"), ("SELECT * INTO copy FROM t", "a SELECT (its functions may write)"),
])
def test_what_a_statement_may_do_to_rows(sql: str, what: str) -> None:
    assert Statement(sql).changes_rows == what
