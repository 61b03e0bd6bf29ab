"""What makes the runner trustworthy: crash safety, one runner at a time, checksums, invalid
indexes, lock timeouts, reversibility, and real-world migration files."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from conftest import FIXTURES, MIGRATIONS, ROOT, Cli, Cluster, scalar, settings_for
from schema_tools import commands
from schema_tools.catalog.inventory import inventory
from schema_tools.commands import check_reversible, repair, validate
from schema_tools.errors import MigrationError, ValidationFailed
from schema_tools.server import embedded
from schema_tools.sql.locks import lock_for


def write_set(folder: Path, count: int, sleep: float = 0.0) -> Path:
    """``count`` chained migrations; each creates a table and records its side effect."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0000_effects.sql").write_text("CREATE TABLE effects (migration text NOT NULL);\n")
    (folder / "0000_effects.rollback.sql").write_text("DROP TABLE effects;\n")
    previous = "0000_effects"
    for i in range(1, count + 1):
        mid = f"{i:04d}_step"
        body = (f"-- depends: {previous}\nCREATE TABLE t{i} (id int PRIMARY KEY, v text);\n"
                f"INSERT INTO t{i} SELECT g, 'x' FROM generate_series(1, 50) g;\n"
                + (f"SELECT pg_sleep({sleep});\n" if sleep else "")
                + f"CREATE INDEX t{i}_v_idx ON t{i} (v);\nINSERT INTO effects VALUES ('{mid}');\n")
        (folder / f"{mid}.sql").write_text(body)
        (folder / f"{mid}.rollback.sql").write_text(f"DROP TABLE t{i};\nDELETE FROM effects WHERE migration = '{mid}';\n")
        previous = mid
    return folder


def consistent_state(url: str, count: int) -> tuple[int, list[str]]:
    """Per migration: table present == recorded by yoyo == checksum row == side effect; returns applied count.

    Read in one snapshot (pg_class, not to_regclass, which reads the latest catalog): a killed
    runner's last batch may still be committing on the server while we look."""
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        tables = {r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'").fetchall()}

        def read(table: str, column: str) -> list[str]:
            return [r[0] for r in conn.execute(f'SELECT {column} FROM "{table}"').fetchall()] if table in tables else []

        recorded = set(read("_yoyo_migration", "migration_id"))
        checksummed = set(read("_schema_tools_migrations", "migration_id"))
        effects = read("effects", "migration")
        problems = []
        for i in range(1, count + 1):
            mid = f"{i:04d}_step"
            states = (f"t{i}" in tables, mid in recorded, mid in checksummed, effects.count(mid) == 1)
            if len(set(states)) != 1 or effects.count(mid) > 1:
                problems.append(f"{mid}: table={states[0]} yoyo={states[1]} checksum={states[2]} effects={effects.count(mid)}")
        return len(effects), problems


def test_sigkill_at_random_instants_never_leaves_half_applied(empty_db_url: str, tmp_path: Path) -> None:
    count = 12
    folder = write_set(tmp_path / "m", count, sleep=0.01)
    settings = settings_for(empty_db_url, folder, lock_wait=30)
    fork = multiprocessing.get_context("fork")
    rng = random.Random(1234)
    for round_ in range(24):
        child = fork.Process(target=commands.migrate, args=(settings,))
        child.start()
        # Kill once the run is under way (after `reached` migrations' effects, plus a few ms so some
        # kills land inside a migration): by the run's progress, not by a clock a busy machine bends.
        reached = round_ % (count - 1)
        deadline = time.monotonic() + 30
        while child.is_alive() and consistent_state(empty_db_url, count)[0] < reached and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.02))
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert consistent_state(empty_db_url, count)[1] == []  # the guarantee: applied and recorded, or neither
        commands.migrate(settings)  # the next run needs no manual step
        applied, problems = consistent_state(empty_db_url, count)
        assert (applied, problems) == (count, [])
        commands.rollback(settings, to="0000_effects", confirm=lambda losses: True)


def test_eight_runners_at_once_apply_each_migration_exactly_once(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    count = 6
    folder = write_set(tmp_path / "m", count, sleep=0.05)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    procs = [subprocess.Popen([sys.executable, "-m", "schema_tools", "migrate", "--database", empty_db_url,
                               "--migrations", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=ROOT) for _ in range(8)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outputs
    appliers = [out for out, _ in outputs if "migration(s) applied" in out]
    assert len(appliers) == 1
    assert sum("nothing to apply" in out for out, _ in outputs) == 7
    with psycopg.connect(empty_db_url) as conn:
        effects = conn.execute("SELECT migration, count(*) FROM effects GROUP BY 1").fetchall()
    assert sorted(effects) == [(f"{i:04d}_step", 1) for i in range(1, count + 1)]


def test_an_edited_applied_file_blocks_migrate_until_repaired(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    edited = folder / "0002_core_tables.sql"
    edited.write_text(edited.read_text().replace("length(service) BETWEEN 1 AND 100", "length(service) BETWEEN 1 AND 64"))
    (folder / "0004_more.sql").write_text("-- depends: 0003_api_keys_usage\nCREATE TABLE more (id int PRIMARY KEY);\n")

    result = cli("validate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 1
    assert "edited-after-apply: 0002_core_tables.sql was edited after it was applied" in result.out
    blocked = cli("migrate", "--database", empty_db_url, "--migrations", str(folder))
    assert blocked.code == 1 and "nothing was applied" in blocked.err and "repair" in blocked.err
    assert "0004_more" not in [s.id for s in commands.status(settings) if s.state == "applied"]

    actions = repair(settings)
    assert len(actions) == 1 and actions[0].startswith("re-recorded the checksum of 0002_core_tables")
    assert validate(settings).errors == []
    assert [m for m, _ in commands.migrate(settings).done] == ["0004_more"]
    with psycopg.connect(empty_db_url) as conn:
        events = conn.execute("SELECT operation, migration_id, detail FROM _schema_tools_events").fetchall()
    assert [(op, mid) for op, mid, _ in events] == [("repair", "0002_core_tables")]
    assert "->" in events[0][2]


def test_crlf_line_endings_do_not_count_as_an_edit(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    path = folder / "0001_users.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert validate(settings).errors == []


def test_missing_and_unknown_applied_migrations_are_reported_and_can_be_forgotten(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    (folder / "0003_api_keys_usage.sql").unlink()
    (folder / "0003_api_keys_usage.rollback.sql").unlink()
    rules = {f.rule: f for f in validate(settings).errors}
    assert set(rules) == {"missing-file"} and rules["missing-file"].object == "0003_api_keys_usage"
    with pytest.raises(ValidationFailed):
        commands.migrate(settings)
    assert repair(settings, forget_missing=True) == [
        "forgot 0003_api_keys_usage (applied, but its file is gone; its objects stay in the database)"]
    assert validate(settings).errors == []


def test_pending_before_applied_warns_or_fails_when_strict(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    commands.migrate(settings_for(empty_db_url, folder))
    (folder / "0001b_late.sql").write_text("-- depends: 0001_users\nCREATE TABLE late (id int PRIMARY KEY);\n")
    report = validate(settings_for(empty_db_url, folder))
    assert [(f.rule, f.severity.value) for f in report.findings] == [("out-of-order", "warning")]
    strict = validate(settings_for(empty_db_url, folder, strict_order=True))
    assert [(f.rule, f.severity.value) for f in strict.findings] == [("out-of-order", "error")]


def test_stale_yoyo_lock_row_is_explained(empty_db_url: str) -> None:
    commands.migrate(settings_for(empty_db_url))
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute('INSERT INTO "yoyo_lock" (locked, ctime, pid) VALUES (1, now(), 4242)')
    findings = validate(settings_for(empty_db_url)).findings
    assert [f.rule for f in findings] == ["stale-yoyo-lock"]
    assert "process 4242" in findings[0].message and "yoyo break-lock" in findings[0].hint
    assert commands.migrate(settings_for(empty_db_url)).done == []  # a warning does not block


def test_failed_concurrent_unique_index_leaves_an_invalid_index_that_validate_names(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "0004_seed.sql").write_text(
        "-- depends: 0003_api_keys_usage\nINSERT INTO tenants (name) VALUES ('a'), ('a');\n")
    (folder / "0005_unique_name.sql").write_text(
        "-- depends: 0004_seed\n-- transactional: false\n"
        "CREATE UNIQUE INDEX CONCURRENTLY tenants_name_key ON tenants (name);\n")
    settings = settings_for(empty_db_url, folder)
    with pytest.raises(MigrationError, match="could not create unique index"):
        commands.migrate(settings)
    result = cli("validate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 1
    assert "index tenants_name_key on tenants is INVALID" in result.out
    assert 'DROP INDEX CONCURRENTLY "public"."tenants_name_key";' in result.out
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute('DROP INDEX CONCURRENTLY "public"."tenants_name_key"')
        conn.execute("DELETE FROM tenants WHERE ctid = (SELECT max(ctid) FROM tenants)")
    assert [m for m, _ in commands.migrate(settings).done] == ["0005_unique_name"]


def test_a_migration_blocked_by_another_session_gives_up_naming_it(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    commands.migrate(settings_for(empty_db_url, folder))
    (folder / "0004_alter.sql").write_text(
        "-- depends: 0003_api_keys_usage\n-- lock_timeout: 100ms\n"
        "CREATE TABLE side (id int PRIMARY KEY);\nALTER TABLE users ADD COLUMN nickname text;\n")
    settings = settings_for(empty_db_url, folder, lock_retries=2)
    with psycopg.connect(empty_db_url, application_name="report-job") as blocker:
        blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        blocker_pid = blocker.info.backend_pid
        started = time.monotonic()
        with pytest.raises(MigrationError) as caught:
            commands.migrate(settings)
        elapsed = time.monotonic() - started
    assert "lock timeout" in caught.value.message
    assert f"pid {blocker_pid} (report-job" in caught.value.hint
    assert "gave up after 3 attempts" in caught.value.hint
    assert elapsed >= 0.3  # it did retry
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('side')").fetchone() == (None,)


def test_statement_timeout_from_the_file_header(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_slow.sql").write_text("-- statement_timeout: 200ms\nSELECT pg_sleep(2);\n")
    with pytest.raises(MigrationError, match="statement timeout"):
        commands.migrate(settings_for(empty_db_url, folder))


def test_plan_lists_statements_and_locks_without_changing_anything(cli: Cli, empty_db_url: str) -> None:
    result = cli("plan", "--json", "--database", empty_db_url)
    assert result.code == 0, result.err
    planned = json.loads(result.out)["migrations"]
    assert [p["id"] for p in planned] == ["0001_users", "0002_core_tables", "0003_api_keys_usage"]
    first = planned[0]["statements"]
    assert [(s["line"], s["lock"]) for s in first] == [(12, "none"), (21, "SHARE")]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").fetchone() == (0,)


@pytest.mark.parametrize("sql,lock", [
    ("CREATE INDEX CONCURRENTLY i ON t (a)", "SHARE UPDATE EXCLUSIVE"),
    ("create unique index i on t (a)", "SHARE"),
    ("ALTER TABLE t ADD COLUMN c int", "ACCESS EXCLUSIVE"),
    ("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) NOT VALID", "SHARE ROW EXCLUSIVE"),
    ("ALTER TABLE t VALIDATE CONSTRAINT f", "SHARE UPDATE EXCLUSIVE"),
    ("ALTER TABLE t SET (fillfactor = 70)", "SHARE UPDATE EXCLUSIVE"),
    ("-- note\nDROP TABLE t", "ACCESS EXCLUSIVE"),
    ("UPDATE t SET a = 1", "ROW EXCLUSIVE"),
    ("CREATE TRIGGER x BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()", "SHARE ROW EXCLUSIVE"),
    ("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE", "SHARE ROW EXCLUSIVE"),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "EXCLUSIVE"),
    ("DO $$ BEGIN END $$", "not analysed"),
])
def test_lock_table(sql: str, lock: str) -> None:
    assert lock_for(sql).lock == lock


def test_check_reversible_passes_on_our_migrations(cli: Cli, db_url: str) -> None:
    result = cli("check-reversible", "--database", db_url)
    assert result.code == 0, result.out + result.err
    assert "check-reversible: 3 checks, no problems" in result.out


def test_check_reversible_catches_a_bad_rollback(cluster: Cluster, db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "0002_core_tables.rollback.sql").write_text("DROP TABLE no_such_table;\n")
    rollback = folder / "0003_api_keys_usage.rollback.sql"
    rollback.write_text(rollback.read_text().replace("DROP TABLE api_keys;\n", ""))
    with psycopg.connect(cluster.url("postgres")) as conn:
        before = scalar(conn, "SELECT count(*) FROM pg_database")
    report = check_reversible(settings_for(db_url, folder))
    by_id = {c.name: [f.rule for f in c.findings] for c in report.checks}
    assert by_id == {"0001_users": [], "0002_core_tables": ["rollback-fails"],
                     "0003_api_keys_usage": ["rollback-residue", "reapply-differs"]}
    assert 'table "no_such_table" does not exist' in report.checks[1].findings[0].message
    residue = report.checks[2].findings[0]
    assert "left behind" in residue.message
    assert any(line.startswith("left behind: relation public.api_keys (and ") for line in residue.detail), residue.detail
    assert len(residue.detail) <= 10
    with psycopg.connect(cluster.url("postgres")) as conn:
        assert scalar(conn, "SELECT count(*) FROM pg_database") == before  # scratch dropped


def psql_binary(cluster: Cluster) -> str:
    status = embedded.status(cluster.settings)
    assert status.binaries is not None
    candidate = status.binaries.bindir / "psql"
    return str(candidate) if candidate.exists() else shutil.which("psql") or "psql"


def table_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("customers", "tickets")}


def strip_times(rows: dict[str, list[tuple[object, ...]]]) -> dict[str, list[tuple[object, ...]]]:
    return {t: [tuple(v for v in row if not hasattr(v, "tzinfo")) for row in rs] for t, rs in rows.items()}


def test_real_world_history_matches_psql_and_survives_down_and_up(cluster: Cluster, empty_db_url: str) -> None:
    folder = FIXTURES / "history"
    ours = settings_for(empty_db_url, folder)
    with psycopg.connect(empty_db_url) as a:
        empty = inventory(a)  # the public schema and its grants
    commands.migrate(ours)
    with cluster.admin() as admin:
        admin.execute("DROP DATABASE IF EXISTS by_psql")
        admin.execute("CREATE DATABASE by_psql")
    psql_url = cluster.url("by_psql")
    for m in sorted(p for p in folder.glob("*.sql") if not p.name.endswith(".rollback.sql")):
        done = subprocess.run([psql_binary(cluster), psql_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(m)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    with psycopg.connect(empty_db_url) as a, psycopg.connect(psql_url) as b:
        applied = inventory(a)
        assert applied == inventory(b)
    assert strip_times(table_rows(empty_db_url)) == strip_times(table_rows(psql_url))
    assert len(table_rows(empty_db_url)["tickets"]) == 20

    commands.rollback(ours, everything=True, confirm=lambda losses: True)
    with psycopg.connect(empty_db_url) as a:
        assert inventory(a) == empty
    commands.migrate(ours)
    with psycopg.connect(empty_db_url) as a:
        assert inventory(a) == applied
    with cluster.admin() as admin:
        admin.execute("DROP DATABASE by_psql")


def test_a_failed_non_transactional_migration_says_what_was_left(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_t.sql").write_text("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1), (1);\n")
    (folder / "0002_idx.sql").write_text(
        "-- depends: 0001_t\n-- transactional: false\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_plain_idx ON t (id);\n"
        "CREATE UNIQUE INDEX CONCURRENTLY t_id_key ON t (id);\n")
    with pytest.raises(MigrationError) as caught:
        commands.migrate(settings_for(empty_db_url, folder))
    assert caught.value.message.startswith("0002_idx.sql:4:1: could not create unique index")
    assert "the statement at line 3 was committed and stays" in caught.value.hint
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('t_plain_idx') IS NOT NULL").fetchone() == (True,)
    assert [s.state for s in commands.status(settings_for(empty_db_url, folder))] == ["applied", "pending"]
