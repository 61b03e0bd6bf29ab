"""Behaviour the one-door refactor (schema_tools/sql, schema_tools/migration_files) must keep:
each case here was found by a differential run of the old and new code on the same inputs, and
failed on the first version of the new code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from conftest import MIGRATIONS, Cli, scalar, settings_for, write_migration
from schema_tools import commands
from schema_tools.errors import MigrationError, MigrationFailed


def test_an_unterminated_comment_is_refused_by_the_server_never_dropped(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "CREATE TABLE kept (id int);\n/* TODO\nALTER TABLE kept ADD COLUMN c int;\n")
    with pytest.raises(MigrationFailed, match="unterminated /\\* comment"):
        commands.migrate(settings_for(empty_db_url, folder))
    assert scalar(psycopg.connect(empty_db_url), "SELECT to_regclass('kept') IS NULL") is True
    assert commands.status(settings_for(empty_db_url, folder))[0].state == "pending"
    planned = commands.plan(settings_for(empty_db_url, folder))[0]
    assert [s.sql for s in planned.statements][-1].startswith("/* TODO ALTER TABLE kept")


def test_a_constraint_renamed_on_an_existing_table_needs_a_lock_timeout(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_users", "CREATE TABLE users (id int CONSTRAINT users_pkey PRIMARY KEY);\n")
    write_migration(folder, "0002_rename", "-- depends: 0001_users\nALTER TABLE users RENAME CONSTRAINT users_pkey "
                    "TO users_pk;\n")
    (tmp_path / "pyproject.toml").write_text("[tool.schema_tools]\nmigrations = 'm'\nlock_timeout = '0'\n")
    result = cli("lint", "--format", "json", cwd=tmp_path)  # the runner's default: no limit
    rules = [f["rule"] for c in json.loads(result.out)["checks"] for f in c["findings"]]
    assert "missing-lock-timeout" in rules, result.out


def test_create_or_replace_view_locks_only_a_view_that_exists(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE t (id int);\nCREATE VIEW old_v AS SELECT id FROM t;\n")
    commands.migrate(settings_for(empty_db_url, folder))
    write_migration(folder, "0002_views", "-- depends: 0001_t\nCREATE OR REPLACE VIEW new_v AS SELECT id FROM t;\n"
                    "CREATE OR REPLACE VIEW old_v AS SELECT id FROM t;\nCREATE OR REPLACE VIEW new_v AS SELECT id FROM t;\n")
    [planned] = commands.plan(settings_for(empty_db_url, folder), trace=True)
    assert [s.lock for s in planned.statements] == ["none on tables", "ACCESS EXCLUSIVE", "none on tables"]
    assert [s.traced for s in planned.statements] == ["agrees", "agrees", "agrees"]


def test_an_intent_recorded_under_the_old_spelling_is_still_healed(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE users (id int PRIMARY KEY, email text);\n"
                    "INSERT INTO users VALUES (1, 'a'), (2, 'a');\n")
    write_migration(folder, "0002_idx", "-- depends: 0001_t\n-- transactional: false\n"
                    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS Users_Email_UQ ON users (email);\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).code == 1
    with psycopg.connect(empty_db_url, autocommit=True) as conn:  # as an earlier version wrote it: as written
        conn.execute("UPDATE _schema_tools_events SET detail = 'Users_Email_UQ' WHERE operation = 'index-intent'")
        conn.execute("DELETE FROM users WHERE id = 2")
    healed = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert healed.code == 0 and "dropped the INVALID index users_email_uq" in healed.out, healed.err


def test_a_lock_timeout_inside_a_do_block_names_the_session_that_holds_the_lock(empty_db_url: str,
                                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    commands.migrate(settings_for(empty_db_url, folder))
    write_migration(folder, "0004_do", "-- depends: 0003_api_keys_usage\n-- lock_timeout: 100ms\n"
                    "DO $$ BEGIN ALTER TABLE users ADD COLUMN nickname text; END $$;\n")
    with psycopg.connect(empty_db_url, application_name="report-job") as blocker:
        blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        pid = blocker.info.backend_pid
        with pytest.raises(MigrationError) as caught:
            commands.migrate(settings_for(empty_db_url, folder, lock_retries=0))
    assert f"pid {pid} (report-job" in caught.value.hint, caught.value.hint


def test_a_hidden_python_file_is_refused_as_yoyo_would_run_it(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    (folder / ".#0004_b.py").write_text("")
    result = cli("status", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 2 and ".#0004_b.py: Python migrations are not supported" in result.err


@pytest.mark.parametrize("copy", ["COPY users TO STDOUT"])
def test_a_copy_to_or_from_the_client_is_refused_before_anything_runs(cli: Cli, empty_db_url: str, tmp_path: Path,
                                                                      copy: str) -> None:
    """Found in both versions: the runner sent it and failed inside psycopg (exit 3). (COPY ... FROM
    STDIN now takes its rows from the lines after it, as psql does: tests/test_runner_session.py.)"""
    folder = tmp_path / "m"
    write_migration(folder, "0001_users", "CREATE TABLE users (id int);\n")
    write_migration(folder, "0002_copy", f"-- depends: 0001_users\nCREATE TABLE early (id int);\n{copy};\n")
    result = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 2 and f"0002_copy.sql:3: {copy.split(' users')[0]} ... " in result.err, result.err
    assert "Traceback" not in result.err
    assert [s.state for s in commands.status(settings_for(empty_db_url, folder))] == ["pending", "pending"]
    traced = cli("plan", "--trace", "--database", empty_db_url, "--migrations", str(folder))
    assert traced.code == 0 and "not traced: line 3 of 0002_copy" in traced.out, traced.err
