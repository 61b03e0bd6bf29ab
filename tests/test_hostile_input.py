"""The runner and the checks under hostile and unusual input: read exactly as PostgreSQL reads it
or refused (exit 2, nothing changed), clean sessions, honest records, read-only checks, and no
exit 3 or hang for a user's mistake."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from conftest import Cli, scalar, settings_for
from schema_tools import commands
from schema_tools.errors import DataLossRefused, MigrationError
from schema_tools.migration_files.read import read_folder
from schema_tools.sql.scanner import folded, split
from schema_tools.sql.script import read_script


def folder_with(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    for name, body in files.items():
        (folder / name).write_bytes(body.encode() if isinstance(body, str) else body)
    return folder


def users_with_rows(url: str, tmp_path: Path) -> Path:
    folder = folder_with(tmp_path, {"0001_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n"
                                    "INSERT INTO users SELECT generate_series(1, 1000);\n",
                                    "0001_users.rollback.sql": "DROP TABLE users;\n"})
    commands.migrate(settings_for(url, folder))
    return folder


def count(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        return scalar(conn, query)


# --- 1. a NUL byte ---------------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["", "-- transactional: false\n"])
def test_a_nul_byte_is_refused_and_nothing_runs(cli: Cli, empty_db_url: str, tmp_path: Path, header: str) -> None:
    folder = users_with_rows(empty_db_url, tmp_path)
    (folder / "0002_trim.sql").write_bytes(f"-- depends: 0001_users\n{header}CREATE TABLE kept (id int);\n"
                                           "DELETE FROM users -- note\x00\n WHERE id = 1000;\n".encode())
    result = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 2 and "0002_trim.sql:" in result.err and "a NUL byte" in result.err, result.err
    assert count(empty_db_url, "SELECT count(*) FROM users") == 1000
    assert count(empty_db_url, "SELECT to_regclass('kept')") is None
    assert count(empty_db_url, "SELECT string_agg(migration_id, ',') FROM _yoyo_migration") == "0001_users"


# --- 2. the statement splitter ---------------------------------------------------------------------

TRICKY = """CREATE FUNCTION f(begin int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN begin; END $$;
CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;
CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b);
SELECT 'a;b', E'c\\';d', $tag$ e;f $tag$, "odd;name" FROM t /* ; /* nested ; */ */ -- ;
;
COMMIT;
"""


def test_the_parser_and_the_scanner_agree_on_tricky_text() -> None:
    parsed = [folded(s.sql) for s in read_script(TRICKY).statements]
    scanned = [folded(s) for _, s in split(TRICKY) if folded(s)]
    assert len(parsed) == 5 and parsed[0].startswith("CREATE FUNCTION f(begin int)") and parsed[-1] == "COMMIT"
    assert scanned == parsed


def test_a_begin_parameter_does_not_hide_a_later_commit(empty_db_url: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {"0001_bp.sql": "CREATE TABLE early (id int);\n" + TRICKY.split("\n")[0]
                                    + "\nCREATE TABLE late (id int);\nCOMMIT;\n"})
    with pytest.raises(MigrationError, match=r"0001_bp.sql:4: COMMIT in a transactional migration"):
        commands.migrate(settings_for(empty_db_url, folder))
    assert count(empty_db_url, "SELECT to_regclass('early')") is None  # refused before anything ran


def test_statement_lines_and_columns_follow_the_file(tmp_path: Path) -> None:
    text = "-- header\nCREATE TABLE a (id int); CREATE TABLE b (\n  id int\n);\n\n/* c */ SELECT 1"
    assert [(s.line, s.column) for s in read_script(text).statements] == [(2, 1), (2, 26), (6, 9)]


# --- 3. sessions ------------------------------------------------------------------------------------

def test_a_setting_a_migration_makes_does_not_leak_into_the_next(empty_db_url: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {
        "0001_app.sql": "CREATE SCHEMA app;\nSET search_path = app, public;\nSET ROLE pg_read_all_data;\nRESET ROLE;\n"
                        "CREATE TEMP TABLE scratch (id int);\n",
        "0002_t.sql": "-- depends: 0001_app\nCREATE TABLE t (id int PRIMARY KEY);\nCREATE TEMP TABLE scratch (id int);\n"})
    commands.migrate(settings_for(empty_db_url, folder))  # one run: both on one connection
    assert count(empty_db_url, "SELECT to_regclass('public.t') IS NOT NULL AND to_regclass('app.t') IS NULL") is True


# --- 4. CREATE INDEX CONCURRENTLY that fails -----------------------------------------------------------

def test_a_failed_concurrent_index_is_healed_by_the_next_run(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {
        "0001_t.sql": "CREATE TABLE t (id int PRIMARY KEY, a int);\nINSERT INTO t VALUES (1, 1), (2, 1);\n",
        "0002_idx.sql": "-- depends: 0001_t\n-- transactional: false\n"
                        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a_key ON t (a);\n"})
    first = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert first.code == 1 and "could not create unique index" in first.err
    assert count(empty_db_url, "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = 't_a_key'::regclass") is True
    again = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))  # still duplicates: INVALID again
    assert again.code == 1 and "0002_idx" not in [s.id for s in commands.status(settings_for(empty_db_url, folder))
                                                   if s.state == "applied"]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM t WHERE id = 2")
    healed = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))  # no manual step
    assert healed.code == 0, healed.err
    assert "dropped the INVALID index t_a_key" in healed.out
    assert count(empty_db_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_a_key'::regclass") is True
    assert cli("validate", "--database", empty_db_url, "--migrations", str(folder)).code == 0


def test_an_invalid_index_of_someone_else_s_is_not_dropped(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {"0001_t.sql": "CREATE TABLE t (id int PRIMARY KEY, a int);\n"
                                    "INSERT INTO t VALUES (1, 1), (2, 1);\n"})
    commands.migrate(settings_for(empty_db_url, folder))
    with psycopg.connect(empty_db_url, autocommit=True) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a)")  # by hand, not by a migration
    (folder / "0002_idx.sql").write_text("-- depends: 0001_t\n-- transactional: false\n"
                                         "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a_key ON t (a);\n")
    result = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 1 and "index t_a_key on t is INVALID" in result.err
    assert count(empty_db_url, "SELECT count(*) FROM pg_index WHERE indexrelid = 't_a_key'::regclass") == 1


# --- 6, 7. read-only checks and quoted hints ---------------------------------------------------------------

def test_an_integrity_predicate_cannot_end_the_read_only_transaction(cli: Cli, db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE victim (id int PRIMARY KEY)")
    checks = tmp_path / "checks.toml"
    checks.write_text('[[rows]]\ntable = "users"\nwhere = "true); COMMIT; DROP TABLE victim; SELECT (1"\n')
    result = cli("integrity", "--database", db_url, "--checks", str(checks))
    assert result.code == 2 and "where must be one SQL expression" in result.err and ":3:" in result.err, result.err
    assert count(db_url, "SELECT to_regclass('victim') IS NOT NULL") is True


def test_fix_hints_quote_hostile_names(cli: Cli, empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute('CREATE TABLE "nopk; DROP TABLE victim; --" (a int)')
    result = cli("verify", "--database", empty_db_url, "--format", "json")
    hints = [f["hint"] for c in json.loads(result.out)["checks"] for f in c["findings"]]
    assert 'ALTER TABLE "nopk; DROP TABLE victim; --" ADD PRIMARY KEY (...);' in hints


# --- 8, 9. no exit 3, no hang, nothing accepted silently -----------------------------------------------

@pytest.mark.parametrize("files,message", [
    ({"0001_x.sql": "-- lock_timeout: 99999999999999999999s\nSELECT 1;\n"}, "longer than PostgreSQL allows"),
    ({"0001_x.sql": "SELECT 1;\n", "0002_y.SQL": "SELECT 2;\n"}, "migrations end in .sql (lower case)"),
    ({"0001_x.sql": b"SELECT '\xff';\n"}, "0001_x.sql:1: not UTF-8 text"),
])
def test_bad_migration_files_are_exit_2(cli: Cli, empty_db_url: str, tmp_path: Path, files: dict[str, str | bytes],
                                        message: str) -> None:
    folder = folder_with(tmp_path, files)
    result = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1, result.err


def test_a_fifo_among_the_migrations_is_refused_without_a_hang(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {"0001_x.sql": "SELECT 1;\n"})
    os.mkfifo(folder / "0004_x.sql")
    for command in (["migrate"], ["status"], ["lint"]):
        result = cli(*command, "--database", empty_db_url, "--migrations", str(folder)) if command != ["lint"] else \
            cli("lint", "--migrations", str(folder))
        assert result.code == 2 and "0004_x.sql: not a regular file" in result.err, (command, result.err)


def test_a_byte_order_mark_does_not_hide_the_header(empty_db_url: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {"0001_t.sql": "CREATE TABLE t (id int PRIMARY KEY, a int);\n",
                                    "0002_i.sql": "\ufeff-- depends: 0001_t\n-- transactional: false\n"
                                                  "CREATE INDEX CONCURRENTLY t_a ON t (a);\n"})
    assert [m.transactional for m in read_folder(folder)] == [True, False]
    commands.migrate(settings_for(empty_db_url, folder))  # CONCURRENTLY outside a transaction: it works
    assert count(empty_db_url, "SELECT to_regclass('t_a') IS NOT NULL") is True


@pytest.mark.parametrize("where,body,message", [
    ("pyproject.toml", "[tool.schema_tools]\nmigrations = '../../etc'\n", "migrations = '../../etc' points outside"),
    ("checks.toml", '[[unique]]\ntable = "users"\ncolumns = "email"\n', "columns must be a list of strings"),
    ("checks.toml", '[[unique]]\ntable = "users"\ncolumns = [1]\n', "columns must be a list of strings"),
    ("checks.toml", '[[unique]]\ntable = "users"\ncolumns = ["email"]\nseverity = "fatal"\n', "is not one of: error"),
    ("checks.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
])
def test_settings_and_checks_accepted_only_when_valid(cli: Cli, db_url: str, tmp_path: Path, where: str, body: str,
                                                      message: str) -> None:
    (tmp_path / where).write_text(body)
    args = ["integrity", "--database", db_url] + (["--checks", str(tmp_path / where)] if where == "checks.toml" else [])
    result = cli(*args, cwd=tmp_path)
    assert result.code == 2 and message in result.err and "internal error" not in result.err, result.err


@pytest.mark.parametrize("args,message", [
    (["migrate", "--lock-wait", "nan"], "--lock-wait = nan must be a non-negative float"),
    (["migrate", "--lock-wait", "inf"], "--lock-wait = inf must be a non-negative float"),
])
def test_arguments_that_would_wait_forever_are_refused(cli: Cli, empty_db_url: str, args: list[str], message: str) -> None:
    result = cli(*args, "--database", empty_db_url)
    assert result.code == 2 and message in result.err, result.err


@pytest.mark.parametrize("output", ["/nonexistent/x.html", ".", ""])
def test_report_to_a_place_it_cannot_write_is_exit_2(cli: Cli, output: str) -> None:
    result = cli("report", "progress.log", "-o", output, program="ralph")
    assert result.code == 2 and "-o" in result.err and "internal error" not in result.err, result.err


def test_a_deeply_nested_prd_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    prd = tmp_path / "prd.json"
    prd.write_text("[" * 100000 + "]" * 100000)
    result = cli("import", str(prd), "-o", str(tmp_path / "s.toml"), program="ralph")
    assert result.code == 2 and "nested too deeply" in result.err, result.err


# --- 10. rollback that would drop data ------------------------------------------------------------------

def test_a_rollback_that_drops_rows_asks_first(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = users_with_rows(empty_db_url, tmp_path)
    refused = cli("rollback", "--all", "--database", empty_db_url, "--migrations", str(folder))
    assert refused.code == 2 and "table public.users and its rows would be dropped" in refused.err, refused.err
    assert "nothing was rolled back" in refused.err and count(empty_db_url, "SELECT count(*) FROM users") == 1000
    with pytest.raises(DataLossRefused):
        commands.rollback(settings_for(empty_db_url, folder), everything=True)  # the library refuses too
    done = cli("rollback", "--all", "--yes", "--database", empty_db_url, "--migrations", str(folder))
    assert done.code == 0 and count(empty_db_url, "SELECT to_regclass('users')") is None


def test_dropping_an_empty_column_or_table_needs_no_confirmation(empty_db_url: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {
        "0001_t.sql": "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t (id) VALUES (1);\n",
        "0002_note.sql": "-- depends: 0001_t\nALTER TABLE t ADD COLUMN note text;\n",
        "0002_note.rollback.sql": "ALTER TABLE t DROP COLUMN note;\nDROP TABLE IF EXISTS gone;\n"})
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    assert commands.rollback(settings).done  # the column holds no value, the other table does not exist
    commands.migrate(settings)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("UPDATE t SET note = 'kept'")
    with pytest.raises(DataLossRefused, match=r"column public.t.note and its values would be dropped"):
        commands.rollback(settings)


def test_the_lock_wait_is_not_forever_even_when_a_holder_never_lets_go(empty_db_url: str, tmp_path: Path) -> None:
    from schema_tools.engine.lock import LOCK_KEY
    from schema_tools.errors import LockTimeout

    folder = folder_with(tmp_path, {"0001_t.sql": "CREATE TABLE t (id int);\n"})
    with psycopg.connect(empty_db_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        with pytest.raises(LockTimeout):
            commands.migrate(settings_for(empty_db_url, folder, lock_wait=0.2))


# --- baseline and --to ------------------------------------------------------------------------------------

def _by_hand(url: str, *mids: str) -> None:
    """Build what migrations declare without the runner (as psql, another tool or a dump would)."""
    from conftest import MIGRATIONS

    with psycopg.connect(url, autocommit=True) as conn:
        for mid in mids:
            conn.execute((MIGRATIONS / f"{mid}.sql").read_text())


def test_baseline_adopts_a_database_that_matches_the_files(cli: Cli, empty_db_url: str) -> None:
    _by_hand(empty_db_url, "0001_users", "0002_core_tables")
    result = cli("baseline", "--to", "0002_core_tables", "--database", empty_db_url)
    assert result.code == 0, result.out + result.err
    assert "recorded 2 migration(s) as applied without running them: 0001_users, 0002_core_tables" in result.out
    assert cli("validate", "--database", empty_db_url).code == 0
    migrated = cli("migrate", "--database", empty_db_url)
    assert migrated.code == 0 and "applied 0003_api_keys_usage" in migrated.out and "0001_users" not in migrated.out
    again = cli("baseline", "--database", empty_db_url)
    assert again.code == 2 and "0001_users is already applied" in again.err


def test_baseline_refuses_a_database_that_differs_and_records_nothing(cli: Cli, empty_db_url: str) -> None:
    _by_hand(empty_db_url, "0001_users", "0002_core_tables")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DROP INDEX sessions_expires_at_idx")
        conn.execute("ALTER TABLE tenants ADD COLUMN plan text")
    result = cli("baseline", "--to", "0002_core_tables", "--database", empty_db_url)
    assert result.code == 1 and "nothing was recorded" in result.out
    assert "sessions_expires_at_idx" in result.out and "plan" in result.out
    assert count(empty_db_url, "SELECT to_regclass('_yoyo_migration')") is None  # nothing recorded, not even tables


def test_migrate_to_stops_after_the_named_migration(cli: Cli, empty_db_url: str) -> None:
    first = cli("migrate", "--to", "0001_users", "--database", empty_db_url)
    assert first.code == 0 and "1 migration(s) applied" in first.out
    assert count(empty_db_url, "SELECT string_agg(migration_id, ',') FROM _yoyo_migration") == "0001_users"
    unknown = cli("migrate", "--to", "0009_nope", "--database", empty_db_url)
    assert unknown.code == 2 and "--to 0009_nope: no such migration" in unknown.err
    rest = cli("migrate", "--database", empty_db_url)
    assert rest.code == 0 and "2 migration(s) applied" in rest.out


# --- 5. errors as psql shows them --------------------------------------------------------------------------

def test_an_error_inside_a_long_statement_is_reported_at_its_own_line_and_column(cli: Cli, empty_db_url: str,
                                                                                tmp_path: Path) -> None:
    body = ("-- a header\n-- of three lines\n\nCREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (\n"
            "    id int PRIMARY KEY,\n    a_id int REFERENCES a (id),\n    note text,\n    bad nosuchtype DEFAULT 1\n"
            ");\nCREATE INDEX b_a_id ON b (a_id);\n")
    folder = folder_with(tmp_path, {"0001_x.sql": body})
    result = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    error, line, caret = result.err.splitlines()
    assert result.code == 1 and '0001_x.sql:9:9: type "nosuchtype" does not exist' in error, result.err
    assert line == "  LINE 9:     bad nosuchtype DEFAULT 1"
    assert caret.index("^") == line.index("nosuchtype")


def test_syntax_only_a_newer_server_reads_is_named(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(empty_db_url) as conn:
        server = conn.info.server_version // 10000
    if server >= 18:  # the test cluster is the machine's own PostgreSQL (15 here)
        pytest.fail("this test needs a server older than 18; the suite's cluster is newer")
    folder = folder_with(tmp_path, {"0001_x.sql": "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) VIRTUAL);\n"})
    result = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 1 and f"valid PostgreSQL 18 syntax but the server is {server}" in result.err, result.err
