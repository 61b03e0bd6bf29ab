"""What promises to change nothing changes nothing (issue 28): plan --trace, lint --trace-locks,
check-reversible and generate run pending migrations on a scratch database as a login that owns
it and nothing else, and do not run what acts beyond its database; each such statement is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import MIGRATIONS, Cli, Cluster, scalar

HOSTILE = {
    "drop-sibling": "DROP DATABASE IF EXISTS {sibling};",
    "create-role": "CREATE ROLE {role};",
    "alter-target": "ALTER DATABASE {target} SET work_mem = '77MB';",
    "program": "COPY (SELECT 1) TO PROGRAM 'touch {marker}';",
    "slot": "SELECT pg_create_physical_replication_slot('{role}');",
}
NAMED = {"drop-sibling": "drops a database", "create-role": "roles", "alter-target": "changes a database's settings",
         "program": "runs a program", "slot": "pg_create_physical_replication_slot"}


def _nothing_happened(cluster: Cluster, sibling: str, role: str, target: str, marker: Path) -> None:
    with cluster.admin() as admin:
        assert scalar(admin, "SELECT count(*) FROM pg_database WHERE datname = %s", (sibling,)) == 1
        assert scalar(admin, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,)) == 0
        assert scalar(admin, "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                             "WHERE d.datname = %s", (target,)) == 0
        assert scalar(admin, "SELECT count(*) FROM pg_replication_slots") == 0
    assert not marker.exists()


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_scratch_work_does_not_run_what_acts_beyond_its_database(cli: Cli, cluster: Cluster, db_url: str,
                                                                  tmp_path: Path, attack: str) -> None:
    target = db_url.rsplit("/", 1)[1].split("?")[0]
    sibling, role, marker = f"sibling_{target}"[:60], f"planted_{target}"[:60], tmp_path / "ran"
    with cluster.admin() as admin:
        admin.execute(f'CREATE DATABASE "{sibling}"')
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    statement = HOSTILE[attack].format(sibling=sibling, role=role, target=target, marker=marker)
    (folder / "0004_hostile.sql").write_text(f"-- depends: 0003_api_keys_usage\n{statement}\n")
    (folder / "0004_hostile.rollback.sql").write_text("SELECT 1;\n")
    try:
        traced = cli("plan", "--trace", "--database", db_url, "--migrations", str(folder))
        assert traced.code == 0 and "not traced: line 2 of 0004_hostile was not run" in traced.out, traced
        assert NAMED[attack] in traced.out, traced.out
        _nothing_happened(cluster, sibling, role, target, marker)

        linted = cli("lint", "--migrations", str(folder), "--trace-locks", db_url)
        assert "Traceback" not in linted.err, linted
        _nothing_happened(cluster, sibling, role, target, marker)

        reversible = cli("check-reversible", "--database", db_url, "--migrations", str(folder))
        assert reversible.code == 1 and "beyond-database" in reversible.out and NAMED[attack] in reversible.out, reversible
        _nothing_happened(cluster, sibling, role, target, marker)

        expect = tmp_path / "expect.toml"
        expect.write_text('[tables.extra]\ncolumns.id = "bigint not null"\nprimary_key = ["id"]\n')
        generated = cli("generate", "--expect", str(expect), "--migrations", str(folder), "--database", db_url)
        assert "Traceback" not in generated.err, generated
        _nothing_happened(cluster, sibling, role, target, marker)
        generated = cli("generate", "--expect", str(expect), "--migrations", str(folder))
        assert generated.code == 1 and "not run: 0004_hostile.sql:2 acts beyond its database" in generated.out, generated
        assert NAMED[attack] in generated.out
        _nothing_happened(cluster, sibling, role, target, marker)
    finally:
        with cluster.admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{sibling}"')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
            for (slot,) in admin.execute("SELECT slot_name FROM pg_replication_slots").fetchall():
                admin.execute("SELECT pg_drop_replication_slot(%s)", (slot,))


def test_trace_runs_pending_migrations_as_a_login_without_rights(cli: Cli, db_url: str, tmp_path: Path) -> None:
    """What the deny-list misses, the login's rights stop: a function that reaches another
    database's catalog through a superuser-only path fails on the scratch copy."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "0004_who.sql").write_text("-- depends: 0003_api_keys_usage\n"
                                         "CREATE TABLE who AS SELECT rolsuper, rolcreaterole, rolcreatedb "
                                         "FROM pg_roles WHERE rolname = current_user;\n"
                                         "DO $$ BEGIN IF (SELECT rolsuper FROM who) THEN RAISE EXCEPTION 'superuser'; "
                                         "END IF; END $$;\n")
    traced = cli("plan", "--trace", "--database", db_url, "--migrations", str(folder))
    assert traced.code == 0 and "superuser" not in traced.out and "failed on the scratch copy" not in traced.out, traced


def _project(tmp_path: Path, applied: str, pending: str) -> Path:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_init.sql").write_text(applied)
    (folder / "0001_init.rollback.sql").write_text("SELECT 1;\n")
    (folder / "0002_x.sql").write_text("-- depends: 0001_init\n" + pending)
    (folder / "0002_x.rollback.sql").write_text("SELECT 1;\n")
    return folder


def test_an_applied_migration_that_acts_beyond_its_database_is_not_replayed(cli: Cli, empty_db_url: str,
                                                                            tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    folder = _project(tmp_path, "CREATE TABLE t (id int PRIMARY KEY);\n", "ALTER TABLE t ADD COLUMN x int;\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder), "--to", "0001_init").code == 0
    (folder / "0002_x.sql").unlink()  # 0001 applied; its file now edited to act on the server
    (folder / "0002_x.rollback.sql").unlink()
    (folder / "0001_init.sql").write_text(f"CREATE TABLE t (id int PRIMARY KEY);\nCOPY (SELECT 1) TO PROGRAM "
                                          f"'touch {marker}';\n")
    (folder / "0002_x.sql").write_text("-- depends: 0001_init\nALTER TABLE t ADD COLUMN x int;\n")
    for args in (("plan", "--trace", "--database", empty_db_url), ("lint", "--trace-locks", empty_db_url)):
        result = cli(*args, "--migrations", str(folder))
        assert "Traceback" not in result.err, result
        assert not marker.exists(), args
    traced = cli("plan", "--trace", "--database", empty_db_url, "--migrations", str(folder))
    assert "an applied migration is not replayed on a scratch copy" in traced.out, traced


def test_escapes_and_dynamic_names_do_not_hide_what_reaches_another_database(cli: Cli, empty_db_url: str,
                                                                             tmp_path: Path) -> None:
    import psycopg

    folder = _project(tmp_path, "CREATE EXTENSION IF NOT EXISTS dblink;\nCREATE TABLE public_log (x text);\n"
                      "GRANT INSERT, SELECT ON public_log TO PUBLIC;\n",
                      "CREATE TABLE newt (id int);\n"
                      "DO E'BEGIN PERFORM dblink_ex\\x65c(''dbname=postgres'', ''SELECT 1''); END';\n")
    (folder / "0003_y.sql").write_text("-- depends: 0002_x\nDO $$ BEGIN EXECUTE 'SELECT dbl' || 'ink_exec(' || "
                                       "quote_literal('dbname=' || current_database()) || ', ''INSERT INTO "
                                       "public_log VALUES (1)'')'; END $$;\n")
    (folder / "0003_y.rollback.sql").write_text("SELECT 1;\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder), "--to", "0001_init").code == 0
    traced = cli("plan", "--trace", "--database", empty_db_url, "--migrations", str(folder))
    assert "calls dblink_exec" in traced.out, traced
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM public_log") == 0


@pytest.mark.parametrize("pending", [
    "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I IS_TEMPLATE true', current_database()); END $$;\n",
    "-- statement_timeout: 1s\nSELECT pg_sleep(30);\n",
])
def test_scratch_work_ends_and_leaves_nothing_behind(cli: Cli, cluster: Cluster, empty_db_url: str, tmp_path: Path,
                                                     pending: str) -> None:
    folder = _project(tmp_path, "CREATE TABLE t (id int PRIMARY KEY);\n", "ALTER TABLE t ADD COLUMN x int;\n" + pending)
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder), "--to", "0001_init").code == 0

    def scratch() -> set[str]:  # what other tests may have left is theirs: only new leftovers count
        with cluster.admin() as admin:
            return {r[0] for r in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE "
                                                "'schema_tools_scratch_%' UNION ALL SELECT rolname FROM pg_roles "
                                                "WHERE rolname LIKE 'schema_tools_agent_%'")}

    before = scratch()
    for args in (("plan", "--trace"), ("check-reversible",)):
        result = cli(*args, "--database", empty_db_url, "--migrations", str(folder))
        assert result.code in (0, 1) and "Traceback" not in result.err and "internal error" not in result.err, result
    assert scratch() - before == set()
