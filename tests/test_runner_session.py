"""The runner owns its session and its bookkeeping: whatever a migration does to the session, each
migration ends applied and recorded once, or refused with nothing lost. Each test is an attack
from issue 27 (every one of them beat the runner before the two-connection, pinned-session design)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from conftest import ROOT, Cli, Cluster, scalar, settings_for, write_migration
from schema_tools import commands

VICTIM = "CREATE TABLE victim (id int PRIMARY KEY);\nINSERT INTO victim VALUES (1);\n"
SMUGGLED = "SELECT 'x\\' AS a, '; DROP TABLE victim; --' AS b;\n"
"""One harmless SELECT with standard_conforming_strings on; a DROP TABLE with it off."""


def migrate(cli: Cli, url: str, folder: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = cli("migrate", "--database", url, "--migrations", str(folder), *extra, env=env)
    return result.code, result.out + result.err


def applied_ids(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        if scalar(conn, "SELECT to_regclass('public._yoyo_migration') IS NULL"):
            return []
        return [r[0] for r in conn.execute("SELECT migration_id FROM public._yoyo_migration ORDER BY 1")]


def victim_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(scalar(conn, "SELECT count(*) FROM victim"))


# --- 1. standard_conforming_strings ---------------------------------------------------------------


@pytest.mark.parametrize("setter", [
    "SET standard_conforming_strings = off;",
    "SELECT set_config('standard_conforming_strings', 'off', false);",
    "DO $$ BEGIN PERFORM set_config('standard' || '_conforming_strings', 'off', false); END $$;",
    'SET "standard_conforming_strings" TO false;',
])
def test_turning_standard_conforming_strings_off_is_refused_before_anything_runs(
        cli: Cli, empty_db_url: str, tmp_path: Path, setter: str) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_victim", VICTIM)
    write_migration(folder, "0002_off", f"-- depends: 0001_victim\n-- transactional: false\n{setter}\n")
    write_migration(folder, "0003_smuggle", f"-- depends: 0002_off\n{SMUGGLED}")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 2, out
    assert "0002_off.sql:3:" in out and "Traceback" not in out
    assert applied_ids(empty_db_url) == []  # refused before anything ran, 0001 included


def test_a_change_no_reading_can_see_fails_its_migration_and_the_next_one_is_read_right(
        cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_victim", VICTIM)
    write_migration(folder, "0002_sneak", "-- depends: 0001_victim\n-- transactional: false\n"
                    "DO $$ BEGIN EXECUTE 'SET standard_conforming_strings = ' || 'off'; END $$;\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "changed standard_conforming_strings = off" in out, out
    assert applied_ids(empty_db_url) == ["0001_victim"]
    # in a transactional migration the rest of its batch was already read: the next one is re-pinned
    write_migration(folder, "0002_sneak", "-- depends: 0001_victim\n"
                    "DO $$ BEGIN EXECUTE 'SET standard_conforming_strings = ' || 'off'; END $$;\n")
    write_migration(folder, "0003_seen", "-- depends: 0002_sneak\n"
                    "CREATE TABLE seen AS SELECT current_setting('standard_conforming_strings') AS v;\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 0, out
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT v FROM seen") == "on"
    # and a string whose end depends on that setting is refused wherever it is, bodies included
    for body in (SMUGGLED, "DO $$ BEGIN PERFORM 'x\\'; DELETE FROM victim; --'; END $$;\n"):
        write_migration(folder, "0004_smuggle", f"-- depends: 0003_seen\n{body}")
        code, out = migrate(cli, empty_db_url, folder)
        assert code == 2 and "0004_smuggle.sql:2: a string constant holds a backslash" in out, out
        assert victim_rows(empty_db_url) == 1


def test_a_database_default_that_turns_standard_conforming_strings_off_is_refused(
        cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_victim", VICTIM)
    write_migration(folder, "0002_smuggle", f"-- depends: 0001_victim\n{SMUGGLED}")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        dbname = conn.info.dbname
        conn.execute(f'ALTER DATABASE "{dbname}" SET standard_conforming_strings = off')
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 2 and "standard_conforming_strings is off" in out and f"ALTER DATABASE {dbname} RESET" in out, out
    assert len(out.strip().splitlines()) == 1
    assert applied_ids(empty_db_url) == []
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{dbname}" RESET standard_conforming_strings')
    code, out = migrate(cli, empty_db_url, folder, env={"PGOPTIONS": "-c standard_conforming_strings=off"})
    assert code == 2 and "PGOPTIONS" in out, out


# --- 2. the lock ---------------------------------------------------------------------------------


@pytest.mark.parametrize("statement", ["DISCARD ALL;", "SELECT pg_advisory_unlock_all();",
                                       "DO $$ BEGIN PERFORM pg_advisory_unlock_all(); END $$;"])
def test_statements_that_free_session_locks_are_refused(cli: Cli, empty_db_url: str, tmp_path: Path,
                                                        statement: str) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_free", f"-- transactional: false\n{statement}\nCREATE TABLE t (id int);\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 2 and "0001_free.sql:2:" in out, out
    assert applied_ids(empty_db_url) == []


def test_a_migration_cannot_free_the_runs_lock(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    """Unlocking by a route no reading sees frees only the work connection's own locks: a second
    runner still waits, and the migration runs once."""
    folder = tmp_path / "m"
    write_migration(folder, "0001_free", "-- transactional: false\nCREATE TABLE ran (at timestamptz DEFAULT now());\n"
                    "INSERT INTO ran DEFAULT VALUES;\n"
                    "DO $$ BEGIN EXECUTE 'SELECT pg_advisory' || '_unlock_all()'; END $$;\nSELECT pg_sleep(2);\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    first = subprocess.Popen([sys.executable, "-m", "schema_tools", "migrate", "--database", empty_db_url,
                              "--migrations", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with psycopg.connect(empty_db_url) as conn:
            if scalar(conn, "SELECT to_regclass('ran') IS NOT NULL"):
                break
        time.sleep(0.05)
    time.sleep(0.5)  # the unlock has run
    code, out = migrate(cli, empty_db_url, folder, "--lock-wait", "0.2")
    assert code == 2 and "holds the lock" in out, out
    assert first.wait(60) == 0, first.communicate()
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM ran") == 1


# --- 3. encoding ---------------------------------------------------------------------------------


def test_the_client_encoding_of_the_environment_does_not_garble_text(cli: Cli, empty_db_url: str,
                                                                     tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_city", "CREATE TABLE city (name text);\nINSERT INTO city VALUES ('Zürich');\n")
    code, out = migrate(cli, empty_db_url, folder, env={"PGCLIENTENCODING": "LATIN1"})
    assert code == 0, out
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT name FROM city") == "Zürich"


def test_setting_the_client_encoding_is_refused_and_utf8_is_allowed(cli: Cli, empty_db_url: str,
                                                                    tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_enc", "-- transactional: false\nSET client_encoding = 'LATIN1';\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 2 and "0001_enc.sql:2: sets client_encoding to LATIN1" in out, out
    write_migration(folder, "0001_enc", "SET client_encoding = 'UTF8';\nCREATE TABLE city (name text);\n"
                    "INSERT INTO city VALUES ('Zürich');\n")  # what every pg_dump file says: no change
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 0, out


# --- 4, 5. transactions --------------------------------------------------------------------------


@pytest.mark.parametrize("statement", ["PREPARE TRANSACTION 'x';", "COMMIT PREPARED 'x';"])
def test_prepared_transactions_are_refused_anywhere(cli: Cli, empty_db_url: str, tmp_path: Path,
                                                    statement: str) -> None:
    folder = tmp_path / "m"
    for header in ("", "-- transactional: false\n"):
        write_migration(folder, "0001_p", f"{header}CREATE TABLE t (id int);\n{statement}\n")
        code, out = migrate(cli, empty_db_url, folder)
        assert code == 2 and "0001_p.sql" in out, out
        assert applied_ids(empty_db_url) == []


@pytest.mark.parametrize("statement", [
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;",
    "SET default_transaction_read_only = on;",
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
    "SET default_transaction_isolation = 'repeatable read';",
])
@pytest.mark.parametrize("header", ["", "-- transactional: false\n"])
def test_transaction_characteristics_a_migration_sets_do_not_reach_the_next(
        cli: Cli, empty_db_url: str, tmp_path: Path, statement: str, header: str) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_mode", f"{header}{statement}\n")
    write_migration(folder, "0002_write", "-- depends: 0001_mode\nCREATE TABLE seen AS "
                    "SELECT current_setting('transaction_isolation') AS isolation, "
                    "current_setting('transaction_read_only') AS read_only;\n")
    write_migration(folder, "0003_more", "-- depends: 0002_write\n-- transactional: false\nCREATE TABLE more (id int);\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 0, out
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT isolation, read_only FROM seen").fetchone() == ("read committed", "off")
    assert applied_ids(empty_db_url) == ["0001_mode", "0002_write", "0003_more"]


def test_a_read_only_database_default_is_a_clear_refusal(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE t (id int);\n")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{conn.info.dbname}" SET default_transaction_read_only = on')
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 2 and "default_transaction_read_only is on" in out and "Traceback" not in out, out


# --- 6, 10. pg_dump output -----------------------------------------------------------------------

PG_DUMP_LIKE = """SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET client_min_messages = warning;

CREATE TABLE public.city (
    id integer NOT NULL,
    name text
);

COPY public.city (id, name) FROM stdin;
1\tZürich
2\tit's; DROP TABLE victim; --
3\t\\N
\\.

ALTER TABLE ONLY public.city
    ADD CONSTRAINT city_pkey PRIMARY KEY (id);
"""


@pytest.mark.parametrize("header", ["", "-- transactional: false\n"])
def test_a_pg_dump_file_applies_with_its_rows_and_empty_search_path(
        cli: Cli, empty_db_url: str, tmp_path: Path, header: str) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_victim", VICTIM)
    write_migration(folder, "0002_dump", f"-- depends: 0001_victim\n{header}{PG_DUMP_LIKE}")
    write_migration(folder, "0003_next", "-- depends: 0002_dump\nCREATE TABLE next_one (id int);\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 0, out
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT id, name FROM public.city ORDER BY id").fetchall() == [
            (1, "Zürich"), (2, "it's; DROP TABLE victim; --"), (3, None)]
        assert scalar(conn, "SELECT to_regclass('public.next_one') IS NOT NULL")  # the next one: search_path as usual
    assert victim_rows(empty_db_url) == 1
    assert applied_ids(empty_db_url) == ["0001_victim", "0002_dump", "0003_next"]


def test_copy_to_the_client_is_refused(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_out", "CREATE TABLE t (id int);\nCOPY t TO STDOUT;\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 2 and "0001_out.sql:2: COPY ... TO STDOUT" in out, out
    assert applied_ids(empty_db_url) == []


# --- 7, 8. bookkeeping ---------------------------------------------------------------------------


def test_a_history_planted_earlier_in_the_search_path_is_an_error_not_believed(
        cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE t (id int);\n")
    assert migrate(cli, empty_db_url, folder)[0] == 0
    write_migration(folder, "0002_security_fix", "-- depends: 0001_t\nCREATE TABLE fixed (id int);\n")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        user = conn.info.user
        conn.execute(f'CREATE SCHEMA "{user}"')
        conn.execute(f'CREATE TABLE "{user}"._yoyo_migration AS SELECT * FROM public._yoyo_migration')
        conn.execute(f"INSERT INTO \"{user}\"._yoyo_migration VALUES ('h', '0002_security_fix', now())")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and f'"{user}"._yoyo_migration' in out and "nothing to apply" not in out, out
    status = cli("status", "--database", empty_db_url, "--migrations", str(folder))
    assert status.code == 1 and "2 schemas" in status.err, status


def test_history_tables_owned_by_a_role_the_runner_is_not_are_refused(
        cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE t (id int);\n")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        role = f"planter_{conn.info.dbname}"[:60]
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.execute(f'CREATE ROLE "{role}"')
        conn.execute('CREATE TABLE public._yoyo_migration (migration_hash varchar(64) PRIMARY KEY, '
                     'migration_id varchar(255), applied_at_utc timestamp)')
        conn.execute("INSERT INTO public._yoyo_migration VALUES ('h', '0001_t', now())")
        conn.execute(f'ALTER TABLE public._yoyo_migration OWNER TO "{role}"')
    try:
        code, out = migrate(cli, empty_db_url, folder)
        assert code == 1 and f"owned by {role}" in out and "Traceback" not in out, out
    finally:
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            conn.execute("DROP TABLE public._yoyo_migration")
            conn.execute(f'DROP ROLE "{role}"')


@pytest.mark.parametrize("damage", [
    "DELETE FROM _yoyo_migration WHERE migration_id = '0002_b'",  # what yoyo's own rollback leaves
    "DROP TABLE _yoyo_migration",
])
def test_history_rows_without_their_pair_stop_the_run_and_success_is_the_servers_word(
        cli: Cli, empty_db_url: str, tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "CREATE TABLE a (id int);\n")
    write_migration(folder, "0002_b", "-- depends: 0001_a\nCREATE TABLE b (id int);\n")
    assert migrate(cli, empty_db_url, folder)[0] == 0
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(damage)
    write_migration(folder, "0003_c", "-- depends: 0002_b\nCREATE TABLE c (id int);\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "has a checksum row" in out and "nothing was applied" in out, out
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT to_regclass('c') IS NULL")


def test_a_group_that_fails_reports_only_what_the_server_committed(
        cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    """A stale checksum row of ours for the failing migration must not make it look applied."""
    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "CREATE TABLE a (id int);\n")
    write_migration(folder, "0002_b", "-- depends: 0001_a\nCREATE TABLE a (id int);\n")  # fails: a exists
    write_migration(folder, "0003_c", "-- depends: 0002_b\nCREATE TABLE c (id int);\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "applied 0001_a" in out and "0002_b" in out, out
    assert applied_ids(empty_db_url) == ["0001_a"]


# --- 9. signals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_cancels_the_running_query_and_nothing_runs_on(empty_db_url: str, tmp_path: Path,
                                                                sig: int, code: int) -> None:
    folder = tmp_path / "m"
    previous = None
    for i in range(1, 7):
        header = f"-- depends: {previous}\n" if previous else ""
        write_migration(folder, f"000{i}_s", f"{header}CREATE TABLE t{i} (id int);\nSELECT pg_sleep(0.6);\n")
        previous = f"000{i}_s"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "schema_tools", "migrate", "--database", empty_db_url,
                             "--migrations", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(applied_ids(empty_db_url)) < 1:
        time.sleep(0.05)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, (out, err)
    said = err.strip().splitlines()[-1]
    assert said.startswith("schema-tools: error: interrupted: ") and "was running" in said and "Traceback" not in err, err
    now = len(applied_ids(empty_db_url))
    assert f"interrupted: {now} applied, {6 - now} not" in said
    time.sleep(2)  # nothing the runner sent goes on without it
    assert len(applied_ids(empty_db_url)) == now < 6
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()") == 0


# --- 11, and what used to exit 3 -----------------------------------------------------------------


def test_a_failed_concurrent_build_outside_the_search_path_is_healed(cli: Cli, empty_db_url: str,
                                                                     tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_app", "CREATE SCHEMA app;\nCREATE TABLE app.accounts (email text);\n"
                    "INSERT INTO app.accounts VALUES ('a'), ('a');\n")
    write_migration(folder, "0002_unique", "-- depends: 0001_app\n-- transactional: false\nSET search_path = app;\n"
                    "CREATE UNIQUE INDEX CONCURRENTLY accounts_email ON accounts (email);\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "could not create unique index" in out, out
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert scalar(conn, "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = 'app.accounts_email'::regclass")
        conn.execute("DELETE FROM app.accounts WHERE ctid <> (SELECT min(ctid) FROM app.accounts)")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 0 and "dropped the INVALID index app.accounts_email" in out, out
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.accounts_email'::regclass")


@pytest.mark.parametrize("body", ["SELECT pg_terminate_backend(pg_backend_pid());"])
@pytest.mark.parametrize("header", ["", "-- transactional: false\nCREATE TABLE kept (id int);\n"])
def test_a_lost_connection_is_said_plainly(cli: Cli, empty_db_url: str, tmp_path: Path, body: str,
                                           header: str) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_lost", f"{header}{body}\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 2 and "connection to the server was lost" in out and "Traceback" not in out, out
    if header:
        assert "line 2 committed" in out or "lines 2 committed" in out, out
    assert applied_ids(empty_db_url) == []


def test_a_begin_and_an_error_in_a_non_transactional_file_is_a_failure_not_a_crash(
        cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_tx", "-- transactional: false\nBEGIN;\nSELECT 1/0;\nCOMMIT;\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "0001_tx.sql:3" in out and "division by zero" in out, out
    write_migration(folder, "0001_tx", "-- transactional: false\nBEGIN;\nSELECT 1;\nCOMMIT;\n")
    assert migrate(cli, empty_db_url, folder)[0] == 0


def test_a_search_path_naming_no_schema_is_a_clear_error(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE t (id int);\n")
    code, out = migrate(cli, empty_db_url, folder, env={"PGOPTIONS": "-c search_path=nowhere"})
    assert code == 2 and "no schema of the search_path" in out and "Traceback" not in out, out


def test_migrate_on_keeps_working_for_a_callers_connection(empty_db_url: str, tmp_path: Path) -> None:
    """The library path: the caller's connection holds the lock; its search_path reaches the migrations."""
    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE t (id int);\n")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA other; SET search_path = other, public")
        result = commands.migrate_on(conn, settings_for(empty_db_url, folder))
        assert [mid for mid, _ in result.done] == ["0001_t"]
        assert scalar(conn, "SELECT to_regclass('other.t') IS NOT NULL")
        assert scalar(conn, "SELECT to_regclass('other._yoyo_migration') IS NOT NULL")


@pytest.mark.parametrize(("name", "said"), [
    (".sql", "needs an id before .sql"),
    ("0001_a .sql", "spaces at an end"),
    ("0001_" + "a" * 240 + ".sql", "its rollback file's name would be 258 bytes"),
])
def test_file_names_that_cannot_be_ids_are_refused(cli: Cli, tmp_path: Path, name: str, said: str) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_a.sql").write_text("SELECT 1;\n")
    (folder / name).write_text("SELECT 2;\n")
    result = cli("plan", "--migrations", str(folder))
    assert result.code == 2 and said in result.err and "Traceback" not in result.err, result


def test_inputs_that_used_to_crash_are_one_line_errors(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "-- lock_timeout: \u0665s\nSELECT 1;\n")  # an Arabic-Indic five
    result = cli("plan", "--migrations", str(folder))
    assert result.code == 2 and "is not a duration" in result.err, result
    (folder / "0001_a.sql").unlink()
    (folder / "0001_a.rollback.sql").unlink()
    (folder / "0002_b.sql").mkdir()
    result = cli("plan", "--migrations", str(folder))
    assert result.code == 2 and "not a regular file" in result.err, result
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    result = cli("lint", "--migrations", str(tmp_path / "loop1"))
    assert result.code == 2 and "cannot be followed" in result.err and "Traceback" not in result.err, result
    assert len(result.err.strip().splitlines()) == 1
    good = tmp_path / "good"
    write_migration(good, "0001_a", "SELECT 1;\n")
    result = cli("lint", "--migrations", str(good), "--output", "json=/dev/full")
    assert result.code == 2 and "No space left on device" in result.err, result


def test_ralph_refuses_a_non_number_timeout_and_a_log_that_is_not_a_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("run", "--agent-timeout", "nan", program="ralph")
    assert result.code == 2 and "must be a number greater than 0" in result.err, result
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = cli("run", "--log", str(fifo), program="ralph")
    assert result.code == 2 and "not a regular file" in result.err, result


@pytest.mark.parametrize(("text", "line"), [
    ("CREATE TABLE a (id int);\f\nSELECT nowhere;\n", 2),         # a form feed ends no line
    ("-- note\u2028more\nSELECT nowhere;\n", 2),                  # nor does U+2028
    ("CREATE TABLE a (id int);\rSELECT 1;\r  SELECT nowhere;\r", 3),  # a CR-only file: CR does
])
def test_errors_name_the_line_an_editor_shows(cli: Cli, empty_db_url: str, tmp_path: Path, text: str,
                                              line: int) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_a.sql").write_bytes(text.encode())
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and f"0001_a.sql:{line}:" in out and '"nowhere" does not exist' in out, out
    assert f"LINE {line}: " in out and "SELECT nowhere" in out.split(f"LINE {line}: ")[1].splitlines()[0], out


def test_a_migration_that_ends_the_runners_control_session_stops_the_run(cli: Cli, empty_db_url: str,
                                                                         tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_kill", "-- transactional: false\nSELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE "
                    "'schema-tools migrate%';\n")
    write_migration(folder, "0002_next", "-- depends: 0001_kill\n-- transactional: false\nCREATE TABLE next_one (id int);\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 2 and "holding the migration lock was closed" in out and "Traceback" not in out, out
    assert applied_ids(empty_db_url) == ["0001_kill"]


def test_a_work_connection_terminated_by_another_session_says_what_committed(empty_db_url: str,
                                                                              tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_slow", "-- transactional: false\nCREATE TABLE kept (id int);\nSELECT pg_sleep(20);\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "schema_tools", "migrate", "--database", empty_db_url,
                             "--migrations", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    deadline, killed = time.monotonic() + 30, 0
    while not killed and time.monotonic() < deadline:
        time.sleep(0.1)
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            killed = len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
                                      "'%pg_sleep(20)%' AND pid <> pg_backend_pid()").fetchall())
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, (out, err)
    assert "connection to the server was lost while statement 2 of 2 of 0001_slow.sql ran" in err, err
    assert "line 2 committed" in err and "Traceback" not in err, err
    assert applied_ids(empty_db_url) == []


# --- families an independent attacker found on the first version of the design --------------------


def test_a_file_the_parser_refuses_never_shares_a_batch(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    """Its unclosed quote closed in the next file's comment: the server ran SQL no reading saw."""
    folder = tmp_path / "m"
    write_migration(folder, "0001_setup", VICTIM)
    assert migrate(cli, empty_db_url, folder)[0] == 0
    write_migration(folder, "0002_typo", "-- depends: 0001_setup\nSELECT $q$\n")
    write_migration(folder, "0003_innocent", "-- depends: 0002_typo\nSELECT 1 -- $q$; DELETE FROM victim; --\n;\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "0002_typo" in out, out
    assert victim_rows(empty_db_url) == 1 and applied_ids(empty_db_url) == ["0001_setup"]


def test_functions_a_migration_puts_before_pg_catalog_do_not_fake_the_lock(cli: Cli, empty_db_url: str,
                                                                          tmp_path: Path) -> None:
    from schema_tools.engine.lock import LOCK_KEY

    folder = tmp_path / "m"
    write_migration(folder, "0001_plant", "CREATE FUNCTION public.pg_try_advisory_lock(bigint) RETURNS boolean "
                    "LANGUAGE sql AS $$ SELECT true $$;\nCREATE FUNCTION public.pg_advisory_unlock(bigint) RETURNS "
                    "boolean LANGUAGE sql AS $$ SELECT true $$;\nDO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET "
                    "search_path = public, pg_catalog', current_database()); END $$;\n")
    assert migrate(cli, empty_db_url, folder)[0] == 0
    write_migration(folder, "0002_next", "-- depends: 0001_plant\nCREATE TABLE next_one (id int);\n")
    with psycopg.connect(empty_db_url, autocommit=True) as holder:
        holder.execute("SELECT pg_catalog.pg_advisory_lock(%s)", (LOCK_KEY,))
        code, out = migrate(cli, empty_db_url, folder, "--lock-wait", "0.3")
    assert code == 2 and "holds the lock" in out, out
    assert applied_ids(empty_db_url) == ["0001_plant"]


def test_a_trigger_that_swallows_records_stops_the_run_instead_of_applying_twice(
        cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_trap", "CREATE TABLE counter (n int);\nCREATE FUNCTION swallow() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN IF NEW.migration_id = '0002_body' THEN RETURN NULL; END IF; "
                    "RETURN NEW; END $$;\nCREATE TRIGGER swallow BEFORE INSERT ON _yoyo_migration FOR EACH ROW "
                    "EXECUTE FUNCTION swallow();\nCREATE TRIGGER swallow BEFORE INSERT ON _schema_tools_migrations "
                    "FOR EACH ROW EXECUTE FUNCTION swallow();\n")
    write_migration(folder, "0002_body", "-- depends: 0001_trap\nINSERT INTO counter VALUES (1);\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "the history record of 0002_body was not written" in out, out
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "has a trigger swallow" in out, out
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM counter") == 0
    assert applied_ids(empty_db_url) == ["0001_trap"]


def test_a_history_the_search_path_no_longer_reaches_is_an_error(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "CREATE TABLE IF NOT EXISTS public.counter (n int);\n"
                    "INSERT INTO public.counter VALUES (1);\nCREATE SCHEMA IF NOT EXISTS elsewhere;\n"
                    "DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET search_path = elsewhere', "
                    "current_user, current_database()); END $$;\n")
    assert migrate(cli, empty_db_url, folder)[0] == 0
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and 'no migration history on the search_path, but "public"._schema_tools_migrations' in out, out
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM public.counter") == 1


def test_a_role_a_non_transactional_migration_switches_to_does_not_write_its_record(
        cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    role = f"nobody_{empty_db_url.rsplit('/', 1)[1].split('?')[0]}"[:60]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}"')
    try:
        folder = tmp_path / "m"
        write_migration(folder, "0001_role", f'-- transactional: false\nCREATE TABLE t1 (id int);\nSET ROLE "{role}";\n')
        write_migration(folder, "0002_next", "-- depends: 0001_role\nCREATE TABLE t2 (id int);\n")
        code, out = migrate(cli, empty_db_url, folder)
        assert code == 0, out
        assert applied_ids(empty_db_url) == ["0001_role", "0002_next"]
    finally:
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS t1, t2")
            conn.execute(f'DROP ROLE "{role}"')


def test_a_function_that_turns_standard_conforming_strings_off_when_called_is_refused(
        cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_f", "CREATE FUNCTION sneaky() RETURNS void LANGUAGE plpgsql SET "
                    "standard_conforming_strings = off AS $$ BEGIN PERFORM 1; END $$;\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 2 and "0001_f.sql:1: sets standard_conforming_strings to off" in out, out


def test_pg_dump_restrict_lines_and_an_exact_end_of_rows(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_dump", "\\restrict AbC123\nCREATE TABLE t (a int);\nCOPY t FROM stdin;\n1\n\\.\n"
                    "\\unrestrict AbC123\n")
    assert migrate(cli, empty_db_url, folder)[0] == 0
    write_migration(folder, "0002_marker", "-- depends: 0001_dump\nCOPY t FROM stdin;\n2\n\\. \nCREATE TABLE z1 ();\n"
                    "\\.\nCREATE TABLE z2 ();\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "end-of-copy marker" in out, out  # as psql: "\. " is not the end of the rows
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT to_regclass('z1') IS NULL AND to_regclass('z2') IS NULL")
        assert scalar(conn, "SELECT count(*) FROM t") == 1


def test_a_migration_that_ignores_the_cancel_is_ended_and_nothing_after_it_runs(empty_db_url: str,
                                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "CREATE TABLE t (n int);\n")
    write_migration(folder, "0002_b", "-- depends: 0001_a\nINSERT INTO t VALUES (2);\nDO $$ BEGIN PERFORM "
                    "pg_sleep(4); EXCEPTION WHEN query_canceled THEN PERFORM pg_sleep(4); END $$;\n"
                    "INSERT INTO t VALUES (22);\n")
    write_migration(folder, "0003_c", "-- depends: 0002_b\nINSERT INTO t VALUES (3);\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "schema_tools", "migrate", "--database", empty_db_url,
                             "--migrations", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with psycopg.connect(empty_db_url) as conn:
            if scalar(conn, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                            "AND application_name LIKE '% work'"):  # the query text is cut at 1 kB
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "cancel was not heeded" in err, (out, err)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT n FROM t ORDER BY n").fetchall() == []
    assert applied_ids(empty_db_url) == ["0001_a"]


@pytest.mark.parametrize("env", [{"PGOPTIONS": "-c statement_timeout=1"}])
def test_a_server_that_stops_the_command_is_an_environment_error(cli: Cli, empty_db_url: str, tmp_path: Path,
                                                                 env: dict[str, str]) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "CREATE TABLE t (n int);\nSELECT pg_sleep(0.2);\n")
    code, out = migrate(cli, empty_db_url, folder, env=env)
    assert code in (1, 2) and "Traceback" not in out and "internal error" not in out, out


def test_non_ascii_ids_and_odd_encodings(cli: Cli, cluster: Cluster, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "CREATE TABLE t (n int);\n")
    write_migration(folder, "0002_é✓", "-- depends: 0001_a\nCREATE TABLE u (n int);\n")
    latin1 = {"PGCLIENTENCODING": "LATIN1"}
    assert migrate(cli, empty_db_url, folder, env=latin1)[0] == 0
    code, out = migrate(cli, empty_db_url, folder, env=latin1)
    assert code == 0 and "nothing to apply" in out, out
    name = f"ascii_{empty_db_url.rsplit('/', 1)[1].split('?')[0]}"[:60]
    with cluster.admin() as admin:
        admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    try:
        code, out = migrate(cli, cluster.url(name), folder)
        assert code == 0, out
    finally:
        with cluster.admin() as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_a_begin_in_a_non_transactional_file_is_not_said_committed(cli: Cli, empty_db_url: str,
                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_tx", "-- transactional: false\nBEGIN;\nCREATE TABLE t1 ();\nSELECT 1/0;\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 1 and "committed" not in out.split("--")[-1].replace("nothing of", ""), out
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT to_regclass('t1') IS NULL")


def test_the_control_session_ended_after_the_last_migration_is_not_a_crash(cli: Cli, empty_db_url: str,
                                                                           tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_kill", "-- transactional: false\nSELECT pg_terminate_backend(pid) FROM "
                    "pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND "
                    "application_name LIKE 'schema-tools migrate%';\n")
    code, out = migrate(cli, empty_db_url, folder)
    assert code == 0 and "Traceback" not in out, out
    assert applied_ids(empty_db_url) == ["0001_kill"]
