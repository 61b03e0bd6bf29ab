"""A story's scope: every object of the inventory is tied to its table, an index by what the
server says its table is (never by reading its definition's text)."""

from __future__ import annotations

import psycopg

from ralph.harness.scope import table_of
from schema_tools.harness import schema_inventory_on


def test_an_index_belongs_to_its_table_whatever_the_names(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute('CREATE SCHEMA "S p"; CREATE TABLE "S p"."T; ON x" (id int, " ON y.z" int); '
                     'CREATE INDEX "i ON other.t" ON "S p"."T; ON x" (" ON y.z") WHERE " ON y.z" > 0; '
                     "CREATE TABLE plain (id int PRIMARY KEY)")
        objects = schema_inventory_on(conn)
    assert table_of('relation S p.i ON other.t', objects['relation S p.i ON other.t']) == "S p.T; ON x"
    assert table_of("relation public.plain_pkey", objects["relation public.plain_pkey"]) == "public.plain"
    assert table_of("relation public.plain", objects["relation public.plain"]) == "public.plain"
