"""A Statement answers every question callers ask of SQL text, from PostgreSQL's own parse tree:
what it targets (schemas as PostgreSQL resolves them), whether it works CONCURRENTLY, changes
rows, drops data, changes the session (DO bodies read with the plpgsql parser), or ends the
transaction it runs in."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import settings_for, write_migration
from schema_tools import commands
from schema_tools.errors import MigrationError
from schema_tools.sql.effects import Target
from schema_tools.sql.script import read_script
from schema_tools.sql.statement import Statement


@pytest.mark.parametrize(("sql", "targets"), [
    ("DROP INDEX IF EXISTS t.idx", [Target("index", "t", "idx")]),
    ('DROP TABLE "Odd"."T", plain', [Target("table", "Odd", "T"), Target("table", None, "plain")]),
    ("CREATE INDEX CONCURRENTLY i ON s.t (a)", [Target("table", "s", "t"), Target("index", "s", "i")]),
    ("ALTER TABLE ONLY public.users RENAME email TO mail", [Target("table", "public", "users")]),
    ("TRUNCATE a, b.c", [Target("table", None, "a"), Target("table", "b", "c")]),
    ("COMMENT ON COLUMN s.t.c IS 'x'", [Target("table", "s", "t")]),
    ("ALTER INDEX i RENAME TO j", [Target("index", None, "i")]),
    ("SELECT 1", []),
])
def test_targets_are_named_as_postgresql_resolves_them(sql: str, targets: list[Target]) -> None:
    assert list(Statement(sql).targets) == targets


@pytest.mark.parametrize(("sql", "operation"), [
    ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", "CREATE INDEX"),
    ("DROP INDEX CONCURRENTLY i", "DROP INDEX"), ("REINDEX TABLE CONCURRENTLY t", "REINDEX"),
    ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "DETACH PARTITION"),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY v", ""),  # allowed in a transaction block
    ("CREATE INDEX i ON t (a)", ""), ("SELECT 'CREATE INDEX CONCURRENTLY'", ""),
])
def test_concurrently_is_read_from_the_tree_not_the_text(sql: str, operation: str) -> None:
    assert Statement(sql).concurrently == operation


@pytest.mark.parametrize(("sql", "dropped"), [
    ("DROP TABLE IF EXISTS a, s.b CASCADE", [("a", None), ("s.b", None)]),
    ("TRUNCATE TABLE ONLY a", [("a", None)]),
    ('ALTER TABLE t DROP COLUMN a, DROP "B", ADD COLUMN c int', [("t", "a"), ("t", "B")]),
    ("ALTER TABLE t DROP CONSTRAINT c", []), ("DROP INDEX a", []),
])
def test_dropped_data(sql: str, dropped: list[tuple[str, str | None]]) -> None:
    assert [(d.table.key, d.column) for d in Statement(sql).drops_data] == dropped


@pytest.mark.parametrize(("sql", "changes"), [
    ("SET search_path = ''", ("search_path",)),
    ("SET LOCAL standard_conforming_strings = off", ("standard_conforming_strings",)),
    ("SET NAMES 'LATIN1'", ("client_encoding",)),
    ("RESET ALL", ("every setting (RESET ALL)",)),
    ("DISCARD ALL", ("the whole session (DISCARD ALL)",)),
    ("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
     ("transaction characteristics (SET SESSION CHARACTERISTICS)",)),
    ("SELECT pg_catalog.set_config('search_path', '', false)", ("search_path",)),
    ("SELECT set_config(current_setting('x'), 'y', false)", ("a setting named at run time (set_config)",)),
    ("SELECT pg_advisory_unlock_all()", ("advisory locks (pg_advisory_unlock_all)",)),
    ("DO $$ BEGIN IF current_user <> 'x' THEN SET client_encoding = 'LATIN1'; END IF; END $$", ("client_encoding",)),
    ("DO $$ DECLARE v text; BEGIN v := set_config('standard_conforming_strings', 'off', false); END $$",
     ("standard_conforming_strings",)),
    ("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ SET search_path = '' $$", ()),  # runs when called
    ("SELECT 'SET search_path = x'", ()),
])
def test_session_changes_are_found_in_statements_and_do_bodies(sql: str, changes: tuple[str, ...]) -> None:
    assert Statement(sql).session_changes == changes


@pytest.mark.parametrize(("sql", "command"), [
    ("COMMIT", "COMMIT"), ("END", "COMMIT"), ("ABORT", "ROLLBACK"), ("BEGIN", "BEGIN"),
    ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION"),
    ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION"), ("COMMIT PREPARED 'x'", "COMMIT PREPARED"),
    ("SAVEPOINT a", ""), ("ROLLBACK TO SAVEPOINT a", ""), ("RELEASE a", ""),
    ("DO $$ BEGIN INSERT INTO t VALUES (1); COMMIT; END $$", "COMMIT (in a DO block)"),
    ("CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 1; END", ""),
])
def test_transaction_control(sql: str, command: str) -> None:
    assert Statement(sql).transaction_control == command


def test_routine_bodies_are_read_in_every_form() -> None:
    plpgsql = Statement("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $b$ BEGIN DELETE FROM t; "
                        "PERFORM pg_sleep(1); END $b$")
    assert [s.kind for s in plpgsql.routine_body] == ["DeleteStmt", "SelectStmt"]
    sql_body = Statement("CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'UPDATE t SET a = 1; SELECT 1'")
    assert [s.kind for s in sql_body.routine_body] == ["UpdateStmt", "SelectStmt"]
    atomic = Statement("CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC DELETE FROM t; INSERT INTO t VALUES (1); END")
    assert [s.kind for s in atomic.routine_body] == ["DeleteStmt", "InsertStmt"]
    broken = Statement("DO $$ BEGIN this is not plpgsql; END $$")
    assert [s.tree for s in broken.inner] == [None]  # read as one unreadable statement, never as nothing


def test_a_script_is_cut_and_parsed_once_with_lines_and_non_ascii_text() -> None:
    script = read_script("-- head\nSELECT 'Zürich';\n/* a /* nested */ comment */ CREATE TABLE t (a int);\nSELEC 1;")
    assert script.problem is not None and script.problem.line == 4
    assert [(s.line, s.column, s.kind) for s in script.statements] == [(2, 1, "SelectStmt"), (3, 30, "CreateStmt"),
                                                                      (4, 1, "")]
    parsed = read_script("SELECT 'Zürich'; CREATE INDEX i ON t (lower(a));").statements
    assert parsed[1].sql == "CREATE INDEX i ON t (lower(a))" and parsed[1].targets[1].name == "i"
    lazy = read_script("SELECT 'Zürich'; CREATE INDEX i ON t (lower(a));", trees=False).statements
    assert lazy == parsed and [s.kind for s in lazy] == [s.kind for s in parsed]


@pytest.mark.parametrize("control", ["PREPARE TRANSACTION 'held'", "END", "COMMIT AND CHAIN",
                                     "DO $$ BEGIN COMMIT; END $$"])
def test_a_transactional_migration_that_ends_its_transaction_is_refused_before_anything_runs(
        control: str, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_x", f"CREATE TABLE early (id int);\n{control};\nCREATE TABLE late (id int);\n")
    with pytest.raises(MigrationError, match=r"0001_x.sql:2: .*(in a transactional migration|in a prepared transaction)"):
        commands.migrate(settings_for(empty_db_url, folder))
    assert commands.status(settings_for(empty_db_url, folder))[0].state == "pending"
