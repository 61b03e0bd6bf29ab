"""Names made of quotes, semicolons, spaces, unicode and reserved words, in expectations and
stories: every query quotes them, and a hostile name is looked up literally."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg import sql

from conftest import settings_for
from ralph.harness.stories import load_stories
from schema_tools.catalog import BOOKKEEPING
from schema_tools.catalog.read import read_catalog
from schema_tools.commands import integrity
from schema_tools.expect.check import check_catalog
from schema_tools.expect.parse import expectations_in

INJECTION = 'x"; drop table users; --'
RESERVED = ["select", "table", "user", "order", "group", "from", "where", "check", "primary", "default", "limit"]
NAMES = st.one_of(
    st.sampled_from(RESERVED + [INJECTION, "a b", "semi;colon", "quote'single", 'quote"double', "ünïcødé", "名前", "$x"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), min_size=1, max_size=20),
).filter(lambda n: len(n.encode()) <= 60 and n.strip() == n and n.strip() != "" and n.lower() != n.upper() + "x")


# Tables the migrated database already has: the test creates its table, except "users" (used as it is).
TAKEN = set(BOOKKEEPING) | {"tenants", "tenant_users", "sessions", "api_keys", "usage_events"}
TABLES = NAMES.filter(lambda n: n not in TAKEN)


def toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def expectation_file(folder: Path, table: str, column: str) -> Path:
    path = folder / "expect.toml"
    path.write_text(f"[tables.{toml(table)}]\ncolumns = [{toml(column)}, {toml(column + '_missing')}]\n"
                    f"unique = [[{toml(column)}]]\n")
    return path


@settings(max_examples=220, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(table=TABLES, column=NAMES)
@example(table=INJECTION, column=INJECTION)
@example(table="users", column=INJECTION)
@example(table="counted", column="n")  # the duplicates query once named its count n: ambiguous
def test_names_are_quoted_everywhere(table: str, column: str, postgresql: psycopg.Connection, db_url: str,
                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("names")
    postgresql.autocommit = True
    created = table != "users"
    if created:
        postgresql.execute(sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, {} text)").format(
            sql.Identifier(table), sql.Identifier(column if column != "id" else column + "_")))
        postgresql.execute(sql.SQL("INSERT INTO {} VALUES (1, 'a'), (2, 'a')").format(sql.Identifier(table)))
    try:
        path = expectation_file(folder, table, column)
        expectations = expectations_in(path)
        assert expectations[0].table == table
        report = check_catalog(read_catalog(postgresql), expectations, invariants=False)
        messages = [f.message for f in report.errors]
        assert f"table {table} does not exist" not in messages  # found, by its exact name
        assert f"column {table}.{column}_missing does not exist" in messages
        if created and column != "id":
            found = integrity(settings_for(db_url), None, [path])  # builds SQL from both names
            assert [f.rule for f in found.findings] == ["duplicates"], [f.message for f in found.findings]
        stories = folder / "stories.toml"
        stories.write_text(f'[[stories]]\nid = "S-1"\ntitle = {toml(table)}\npriority = 1\n'
                           f"[stories.expect.tables.{toml(table)}]\ncolumns = [{toml(column)}]\n")
        assert load_stories(stories)[0].expectations[0].columns[0].name == column
    finally:
        if created:
            postgresql.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
    assert postgresql.execute("SELECT to_regclass('users') IS NOT NULL").fetchone() == (True,)


def test_a_hostile_table_name_is_reported_missing_literally(postgresql: psycopg.Connection, tmp_path: Path) -> None:
    path = expectation_file(tmp_path, INJECTION, "id")
    report = check_catalog(read_catalog(postgresql), expectations_in(path), invariants=False)
    assert f"table {INJECTION} does not exist" in [f.message for f in report.errors]
    assert postgresql.execute("SELECT count(*) FROM users").fetchone() == (0,)
