"""The migration runner against a real server: apply, roll back, status, failures, lock."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timezone
from pathlib import Path

import psycopg
import pytest

from conftest import MIGRATIONS, Cli, settings_for, write_migration
from schema_tools import commands
from schema_tools.commands import repair, validate
from schema_tools.engine.lock import LOCK_KEY
from schema_tools.errors import ConfigError, LockTimeout, MigrationError

BOOKKEEPING = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock",
               "_schema_tools_migrations", "_schema_tools_events")

SNAPSHOT_SQL = """
SELECT 'relation', c.relname || ':' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND NOT c.relname = ANY(%(skip)s) AND c.relname NOT LIKE '%%_seq'
UNION ALL
SELECT 'column', c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind = 'r' AND NOT c.relname = ANY(%(skip)s)
UNION ALL
SELECT 'constraint', conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND NOT conrelid::regclass::text = ANY(%(skip)s)
UNION ALL
SELECT 'index', pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
  WHERE c.relnamespace = 'public'::regnamespace AND NOT c.relname = ANY(%(skip)s)
UNION ALL
SELECT 'type', typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'c')
  AND typrelid = 0
UNION ALL
SELECT 'function', p.oid::regprocedure::text FROM pg_proc p WHERE pronamespace = 'public'::regnamespace
ORDER BY 1, 2
"""


def snapshot(url: str) -> list[tuple[str, str]]:
    """The user-visible schema of ``public`` (bookkeeping tables left out)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(SNAPSHOT_SQL, {"skip": list(BOOKKEEPING)}).fetchall()
    return [row for row in rows if not any(name in row[1] for name in BOOKKEEPING)]


def applied_ids(url: str) -> list[str]:
    return [s.id for s in commands.status(settings_for(url)) if s.state == "applied"]


def test_migrate_applies_everything_once_and_then_nothing(empty_db_url: str) -> None:
    first = commands.migrate(settings_for(empty_db_url))
    assert [mid for mid, _ in first.done] == ["0001_users", "0002_core_tables", "0003_api_keys_usage"]
    assert commands.migrate(settings_for(empty_db_url)).done == []
    with psycopg.connect(empty_db_url) as conn:
        rows = conn.execute("SELECT migration_id, checksum FROM _schema_tools_migrations ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == applied_ids(empty_db_url)
    assert all(len(r[1]) == 64 for r in rows)


def test_cli_migrate_twice_then_status_json(cli: Cli, empty_db_url: str) -> None:
    first = cli("migrate", "--database", empty_db_url)
    assert first.code == 0, first.err
    assert "applied 0003_api_keys_usage" in first.out
    second = cli("migrate", "--database", empty_db_url)
    assert (second.code, second.err) == (0, "")
    assert "nothing to apply" in second.out
    status = cli("status", "--json", "--database", empty_db_url)
    data = json.loads(status.out)
    assert [(m["id"], m["state"]) for m in data["migrations"]] == [
        ("0001_users", "applied"), ("0002_core_tables", "applied"), ("0003_api_keys_usage", "applied")]
    assert all(m["applied_at"] for m in data["migrations"])


@pytest.mark.parametrize("index", [0, 1, 2])
def test_each_migration_up_down_up_leaves_no_residue(empty_db_url: str, index: int) -> None:
    ids = ["0001_users", "0002_core_tables", "0003_api_keys_usage"]
    settings = settings_for(empty_db_url)
    if index:
        commands.rollback(settings, everything=True)
        commands.migrate(settings)
        commands.rollback(settings, to=ids[index - 1])
    before = snapshot(empty_db_url)
    commands.migrate(settings)
    after_up = snapshot(empty_db_url)
    assert after_up != before
    commands.rollback(settings, to=ids[index - 1]) if index else commands.rollback(settings, everything=True)
    assert snapshot(empty_db_url) == before
    commands.migrate(settings)
    assert snapshot(empty_db_url) == after_up


def test_rollback_without_arguments_undoes_only_the_last(db_url: str) -> None:
    result = commands.rollback(settings_for(db_url))
    assert [mid for mid, _ in result.done] == ["0003_api_keys_usage"]
    assert applied_ids(db_url) == ["0001_users", "0002_core_tables"]


def test_rollback_to_an_unapplied_migration_is_refused(db_url: str) -> None:
    commands.rollback(settings_for(db_url))
    with pytest.raises(MigrationError, match="0003_api_keys_usage: that migration is pending"):
        commands.rollback(settings_for(db_url), to="0003_api_keys_usage")


def broken_copy(tmp_path: Path, old: str, new: str, name: str = "0003_api_keys_usage.sql") -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    path = folder / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    return folder


def test_a_syntax_error_fails_in_one_line_and_applies_nothing_of_that_migration(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, "CREATE INDEX api_keys_status_idx", "CREAT INDEX api_keys_status_idx")
    result = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 1  # the migration has a problem (exit 2 is for input the tool cannot take)
    error, statement, caret = result.err.splitlines()  # the error on one line, then the line and a caret, like psql
    assert "Traceback" not in result.err
    assert 'schema-tools: error: 0003_api_keys_usage.sql:30:1: syntax error at or near "CREAT"' in error
    assert statement == "  LINE 30: CREAT INDEX api_keys_status_idx ON api_keys (status);"
    assert caret == "  " + " " * len("LINE 30: ") + "^"
    assert applied_ids(empty_db_url) == ["0001_users", "0002_core_tables"]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('api_keys'), to_regclass('usage_events')").fetchone() == (None, None)


def test_a_runtime_error_names_the_line_of_its_statement(empty_db_url: str, tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, "CREATE INDEX usage_events_service_idx ON usage_events (service)",
                         "CREATE INDEX usage_events_service_idx ON usage_events (no_such_column)")
    with pytest.raises(MigrationError) as caught:
        commands.migrate(settings_for(empty_db_url, folder))
    assert caught.value.migration_id == "0003_api_keys_usage"
    lines = (folder / "0003_api_keys_usage.sql").read_text().splitlines()
    assert caught.value.line == 1 + next(i for i, line in enumerate(lines) if "no_such_column" in line)
    assert 'column "no_such_column" does not exist' in caught.value.message


def test_concurrently_in_a_transactional_migration_explains_the_header(empty_db_url: str, tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, "CREATE INDEX api_keys_status_idx", "CREATE INDEX CONCURRENTLY api_keys_status_idx")
    with pytest.raises(MigrationError) as caught:
        commands.migrate(settings_for(empty_db_url, folder))
    assert "cannot run inside a transaction block" in caught.value.message
    assert "-- transactional: false" in caught.value.hint


def test_a_non_transactional_migration_runs_concurrently(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "0004_concurrent.sql").write_text(
        "-- depends: 0003_api_keys_usage\n-- transactional: false\n"
        "CREATE INDEX CONCURRENTLY users_created_at_idx ON users (created_at);\n")
    (folder / "0004_concurrent.rollback.sql").write_text("DROP INDEX CONCURRENTLY users_created_at_idx;\n")
    settings = settings_for(empty_db_url, folder)
    assert [m for m, _ in commands.migrate(settings).done][-1] == "0004_concurrent"
    commands.rollback(settings)
    assert applied_ids(empty_db_url)[-1] == "0003_api_keys_usage"


@pytest.mark.parametrize("text,message", [
    ("-- depends: 0099_missing\nSELECT 1;", "depends on '0099_missing'"),
    ("-- transactional: maybe\nSELECT 1;", "must be true or false"),
    ("-- lock_timeout: soon\nSELECT 1;", "is not a duration"),
])
def test_bad_headers_are_refused_before_anything_runs(empty_db_url: str, tmp_path: Path, text: str, message: str) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "0004_bad.sql").write_text(text)
    with pytest.raises(MigrationError, match=message):
        commands.migrate(settings_for(empty_db_url, folder))
    assert applied_ids(empty_db_url) == []


def test_missing_migrations_folder_is_a_config_error(empty_db_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        commands.migrate(settings_for(empty_db_url, tmp_path / "nope"))


def test_lock_held_elsewhere_times_out_naming_the_holder(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True, application_name="other-runner") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        pid = holder.info.backend_pid
        with pytest.raises(LockTimeout) as caught:
            commands.migrate(settings_for(empty_db_url, lock_wait=0.3))
    assert f"pid {pid} (other-runner" in caught.value.message
    assert applied_ids(empty_db_url) == []


def test_an_error_without_position_is_still_located(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_dupes.sql").write_text(
        "CREATE TABLE t (id int PRIMARY KEY);\n\nINSERT INTO t VALUES (1);\n-- again:\nINSERT INTO t\n  VALUES (1);\n")
    with pytest.raises(MigrationError) as caught:
        commands.migrate(settings_for(empty_db_url, folder))
    assert caught.value.message.startswith("0001_dupes.sql:5:1: duplicate key value violates unique constraint")
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)


def test_transaction_control_in_a_transactional_migration_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_tx.sql").write_text("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n")
    with pytest.raises(MigrationError, match="0001_tx.sql:1: BEGIN") as caught:
        commands.migrate(settings_for(empty_db_url, folder))
    assert "transactional: false" in caught.value.hint
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)


def yoyo(*args: str) -> str:
    import sys

    done = subprocess.run([str(Path(sys.executable).parent / "yoyo"), *args, "--batch"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_yoyo_cli_keeps_working_on_the_same_database(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    commands.migrate(settings_for(empty_db_url, folder))
    yoyo_url = empty_db_url.replace("postgresql://", "postgresql+psycopg://", 1)
    listed = yoyo("list", "--database", yoyo_url, str(folder))
    assert [line.split()[:2] for line in listed.splitlines() if line.startswith(("A ", "U "))] == [
        ["A", "0001_users"], ["A", "0002_core_tables"], ["A", "0003_api_keys_usage"]]
    (folder / "0004_by_yoyo.sql").write_text("-- depends: 0003_api_keys_usage\nCREATE TABLE by_yoyo (id int PRIMARY KEY);\n")
    (folder / "0004_by_yoyo.rollback.sql").write_text("DROP TABLE by_yoyo;\n")
    yoyo("apply", "--database", yoyo_url, str(folder))
    settings = settings_for(empty_db_url, folder)
    assert [s.state for s in commands.status(settings)] == ["applied"] * 4
    assert [f.rule for f in validate(settings).findings] == ["no-checksum"]  # yoyo records no content checksum
    assert repair(settings) and validate(settings).findings == []
    commands.rollback(settings)  # and ours rolls back what yoyo applied
    assert "U 0004_by_yoyo" in " ".join(yoyo("list", "--database", yoyo_url, str(folder)).split())


def test_a_verified_migrate_keeps_nothing_when_verification_fails(empty_db_url: str, tmp_path: Path) -> None:
    from schema_tools.errors import VerificationFailed

    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE t (id int PRIMARY KEY);\n", "DROP TABLE t;\n")
    write_migration(folder, "0002_u", "-- depends: 0001_t\nCREATE TABLE u (id int PRIMARY KEY);\n", "DROP TABLE u;\n")
    settings = settings_for(empty_db_url, folder)
    seen: list[object] = []

    def sees_both(conn: psycopg.Connection) -> list[str]:
        seen.append(conn.execute("SELECT to_regclass('t') IS NOT NULL AND to_regclass('u') IS NOT NULL").fetchone())
        return ["not good enough"]

    with pytest.raises(VerificationFailed) as caught:
        commands.migrate(settings, verify=sees_both)
    assert caught.value.restored and caught.value.problems == ["not good enough"]
    assert seen == [(True,)]  # it verified the applied state, inside the one transaction
    assert applied_ids(empty_db_url) == []
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('t'), to_regclass('u')").fetchone() == (None, None)
    assert [m for m, _ in commands.migrate(settings, verify=lambda conn: []).done] == ["0001_t", "0002_u"]


def test_a_verified_migrate_undoes_non_transactional_ones_with_their_rollbacks(empty_db_url: str, tmp_path: Path) -> None:
    from schema_tools.errors import VerificationFailed

    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE t (id int PRIMARY KEY, a int);\n", "DROP TABLE t;\n")
    write_migration(folder, "0002_i", "-- depends: 0001_t\n-- transactional: false\nCREATE INDEX CONCURRENTLY t_a ON t (a);\n",
                    "-- transactional: false\nDROP INDEX CONCURRENTLY t_a;\n")
    settings = settings_for(empty_db_url, folder)
    with pytest.raises(VerificationFailed) as caught:
        commands.migrate(settings, verify=lambda conn: ["no"])
    assert caught.value.restored and "rolled back with their rollback files: 0002_i, 0001_t" in caught.value.hint
    assert applied_ids(empty_db_url) == []
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('t'), to_regclass('t_a')").fetchone() == (None, None)
    (folder / "0002_i.rollback.sql").unlink()  # an undo it cannot do is said, not hidden
    with pytest.raises(VerificationFailed) as caught:
        commands.migrate(settings, verify=lambda conn: ["no"])
    assert not caught.value.restored and "0002_i has no rollback file" in caught.value.hint


def test_migrations_sent_together_stop_at_the_first_that_fails(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    bodies = ["CREATE TABLE one (id int);", "CREATE TABLE two (id int);", "CREATE TABLE three (id int);\nSELECT 1/0;",
              "CREATE TABLE four (id int);", "CREATE TABLE five (id int);"]
    for i, body in enumerate(bodies, start=1):
        depends = f"-- depends: {i - 1:04d}_m\n" if i > 1 else ""
        (folder / f"{i:04d}_m.sql").write_text(depends + body + "\n")
    result = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 1 and "0003_m.sql:3:1: division by zero" in result.err, result.err
    assert re.findall(r"applied (\d{4}_m)", result.out) == ["0001_m", "0002_m"]
    with psycopg.connect(empty_db_url) as conn:
        recorded = [r[0] for r in conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY 1").fetchall()]
    assert recorded == ["0001_m", "0002_m"]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('two') IS NOT NULL, to_regclass('three'), to_regclass('four'), "
                            "to_regclass('five')").fetchone() == (True, None, None, None)
    (folder / "0003_m.sql").write_text("-- depends: 0002_m\nCREATE TABLE three (id int);\n")
    rest = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert rest.code == 0 and re.findall(r"applied (\d{4}_m)", rest.out) == ["0003_m", "0004_m", "0005_m"]


def test_each_migration_records_its_own_duration_also_when_sent_in_a_group(empty_db_url: str, tmp_path: Path) -> None:
    """A group goes to the server as one query, whose statements share one now(): the record
    must still hold each migration's own time, and a non-transactional one its whole time."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_slow.sql").write_text("SELECT pg_sleep(0.4);\n")
    (folder / "0002_quick.sql").write_text("-- depends: 0001_slow\nCREATE TABLE quick (id int);\n")
    (folder / "0003_slow_outside.sql").write_text("-- depends: 0002_quick\n-- transactional: false\n"
                                                  "SELECT pg_sleep(0.4);\nCREATE TABLE outside (id int);\n")
    done = dict(commands.migrate(settings_for(empty_db_url, folder)).done)
    with psycopg.connect(empty_db_url) as conn:
        recorded: dict[str, int] = dict(conn.execute("SELECT migration_id, duration_ms FROM _schema_tools_migrations").fetchall())
        leftover = conn.execute("SELECT current_setting('schema_tools.started', true)").fetchone()
    assert recorded["0001_slow"] >= 400 and recorded["0003_slow_outside"] >= 400
    assert recorded["0002_quick"] < 300, recorded
    assert done["0002_quick"] < 300, done
    assert leftover in ((None,), ("",))


def test_applied_at_is_each_migrations_own_commit_time_strictly_increasing(cli: Cli, empty_db_url: str,
                                                                            tmp_path: Path) -> None:
    """Many small migrations go to the server in few round trips: each still gets its own time."""
    folder = tmp_path / "m"
    previous = None
    for n in range(1, 61):
        header = f"-- depends: {previous}\n" if previous else ""
        previous = f"{n:04d}_t{n}"
        write_migration(folder, previous, f"{header}CREATE TABLE t{n} (id int);\n", f"DROP TABLE t{n};\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).code == 0
    with psycopg.connect(empty_db_url) as conn:
        yoyo = [r[0] for r in conn.execute("SELECT applied_at_utc FROM _yoyo_migration ORDER BY migration_id")]
        ours = [r[0] for r in conn.execute("SELECT applied_at FROM _schema_tools_migrations ORDER BY migration_id")]
    assert len(yoyo) == len(ours) == 60
    assert all(a < b for a, b in zip(yoyo, yoyo[1:])), "yoyo's applied_at_utc strictly increases in apply order"
    assert all(a < b for a, b in zip(ours, ours[1:]))
    assert [o.astimezone(timezone.utc).replace(tzinfo=None) for o in ours] == yoyo  # one time, both records
    status = json.loads(cli("status", "--database", empty_db_url, "--migrations", str(folder), "--json").out)
    first = status["migrations"][0]
    assert set(first) == {"id", "state", "applied_at", "checksum", "duration_ms", "applied_by"}
    assert first["state"] == "applied" and len(first["checksum"]) == 64 and isinstance(first["duration_ms"], int)
    assert "@" in first["applied_by"]
    stamps = [m["applied_at"] for m in status["migrations"]]
    assert len(set(stamps)) == 60 and stamps == sorted(stamps)
    write_migration(folder, "0061_later", "-- depends: 0060_t60\nSELECT 1;\n")
    pending = json.loads(cli("status", "--database", empty_db_url, "--migrations", str(folder), "--json").out)
    assert pending["migrations"][-1] == {"id": "0061_later", "state": "pending", "applied_at": None,
                                         "checksum": pending["migrations"][-1]["checksum"], "duration_ms": None,
                                         "applied_by": None}
    assert len(pending["migrations"][-1]["checksum"]) == 64


def test_ids_holding_quotes_backslashes_and_braces_are_recorded_as_they_are(empty_db_url: str, tmp_path: Path) -> None:
    """The record statements are filled in as text: an id holding a quote, a backslash, braces or
    a non-ASCII letter is recorded exactly, with yoyo's hash of it, whether it went in a group or
    alone, and its rollback removes exactly its records."""
    from schema_tools.migration_files.yoyo import yoyo_hash

    folder = tmp_path / "m"
    folder.mkdir()
    ids = ["0001_it's", "0002_back\\slash", "0003_{brace}", "0004_zürich"]
    for i, mid in enumerate(ids):
        outside = "-- transactional: false\n" if i == 1 else ""
        (folder / f"{mid}.sql").write_text(f"{outside}CREATE TABLE t{i} (id int);\n")
        (folder / f"{mid}.rollback.sql").write_text(f"DROP TABLE t{i};\n")
    settings = settings_for(empty_db_url, folder)
    assert [mid for mid, _ in commands.migrate(settings).done] == ids
    read = ("SELECT y.migration_id, y.migration_hash, s.checksum FROM _yoyo_migration y "
            "JOIN _schema_tools_migrations s USING (migration_id) ORDER BY 1")
    with psycopg.connect(empty_db_url) as conn:
        rows = conn.execute(read).fetchall()
    assert [row[0] for row in rows] == ids
    assert all(row[1] == yoyo_hash(row[0]) and row[2] for row in rows)
    commands.rollback(settings, to=ids[1], confirm=lambda losses: True)
    with psycopg.connect(empty_db_url) as conn:
        assert [row[0] for row in conn.execute(read).fetchall()] == ids[:2]
        logged = conn.execute("SELECT migration_id FROM _yoyo_log WHERE operation = 'rollback' ORDER BY 1").fetchall()
    assert [row[0] for row in logged] == ids[2:]
