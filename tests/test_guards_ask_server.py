"""Guards that ask the server, and checks that cannot tell said as such (issue 28)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import MIGRATIONS, Cli, Cluster, scalar

GHOST = '[tables.ghost]\ncolumns.id = "bigint not null"\nchecks = ["id > 0"]\nindexed = ["id"]\n'


@pytest.mark.parametrize("command", ["verify", "drift"])
def test_checks_on_a_missing_table_are_one_finding_and_the_rest_not_checked(cli: Cli, db_url: str, tmp_path: Path,
                                                                            command: str) -> None:
    expect = tmp_path / "expect.toml"
    expect.write_text(GHOST)
    args = ("--migrations", str(MIGRATIONS)) if command == "drift" else ()
    result = cli(command, "--database", db_url, "--expect", str(expect), *args)
    assert result.code == 1 and "Traceback" not in result.err and "internal error" not in result.err, result
    if command == "verify":
        assert result.out.count("table ghost does not exist") >= 1 and "skipped" in result.out, result.out


def test_generate_drafts_a_new_table_with_checks(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in MIGRATIONS.glob("0001_users*.sql"):
        (folder / path.name).write_text(path.read_text())
    expect = tmp_path / "expect.toml"
    expect.write_text(GHOST)
    result = cli("generate", "--expect", str(expect), "--migrations", str(folder))
    assert "Traceback" not in result.err and "internal error" not in result.err, result
    assert "create table ghost" in result.out, result.out
    assert "CHECK (id > 0)" in (folder / "0002_generated.sql").read_text()


@pytest.mark.parametrize("where", [
    "pg_create_physical_replication_slot('s' || id::text) IS NOT NULL",
    "\"pg_stat_reset\"() IS NULL",
    "pg_catalog.pg_stat_reset() IS NULL OR true",
    "id > (SELECT count(*) FROM (SELECT pg_create_physical_replication_slot('x')) s)",
    "random() > 2",
    "id === 1",
])
def test_a_rows_predicate_that_calls_a_volatile_function_is_refused_before_it_runs(
        cli: Cli, cluster: Cluster, db_url: str, tmp_path: Path, where: str) -> None:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:  # an operator whose function acts
        conn.execute("CREATE FUNCTION act(bigint, int) RETURNS boolean LANGUAGE sql VOLATILE AS "
                     "'SELECT pg_stat_reset() IS NULL'")
        conn.execute("CREATE OPERATOR === (LEFTARG = bigint, RIGHTARG = int, FUNCTION = act)")
    checks = tmp_path / "checks.toml"
    checks.write_text(f'[[rows]]\ntable = "users"\nwhere = {json.dumps(where)}\n')
    result = cli("integrity", "--database", db_url, "--checks", str(checks))
    assert result.code == 2 and "VOLATILE" in result.err and "Traceback" not in result.err, result
    with cluster.admin() as admin:
        assert scalar(admin, "SELECT count(*) FROM pg_replication_slots") == 0


def test_a_stable_predicate_still_runs(cli: Cli, db_url: str, tmp_path: Path) -> None:
    checks = tmp_path / "checks.toml"
    checks.write_text('[[rows]]\ntable = "users"\nwhere = "lower(email) <> email OR now() < created_at"\n')
    result = cli("integrity", "--database", db_url, "--checks", str(checks))
    assert result.code == 0, result


@pytest.mark.parametrize("bound", ["nan", "inf", "-inf", '"NaN"', '"Infinity"'])
def test_range_bounds_that_are_not_finite_are_refused(cli: Cli, db_url: str, tmp_path: Path, bound: str) -> None:
    checks = tmp_path / "checks.toml"
    checks.write_text(f'[[ranges]]\ncolumn = "usage_events.quantity"\nmin = {bound}\n')
    result = cli("integrity", "--database", db_url, "--checks", str(checks))
    assert result.code == 2 and "finite" in result.err, result


def test_report_output_replaces_only_a_regular_file(cli: Cli, tmp_path: Path) -> None:
    import os

    log = Path(__file__).parent / "fixtures" / "seed_progress.log"
    target = tmp_path / "keep.txt"
    target.write_text("kept")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    fifo = tmp_path / "fifo.html"
    os.mkfifo(fifo)
    for out in (link, fifo, Path("/dev/full")):
        result = cli("report", str(log), "-o", str(out), program="ralph")
        assert result.code == 2 and "not a regular file" in result.err, result
    assert link.is_symlink() and target.read_text() == "kept" and Path("/dev/full").is_char_device()
    plain = tmp_path / "report.html"
    plain.write_text("old")
    result = cli("report", str(log), "-o", str(plain), program="ralph")
    assert result.code == 0 and plain.read_text().startswith("<!DOCTYPE html>"), result
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report.html")] == []


ROLLBACKS = {
    "drop-schema": "DROP SCHEMA s CASCADE;",
    "search-path": "SET search_path = s;\nDROP TABLE keep;",
    "rename-then-drop": "ALTER TABLE s.keep RENAME TO doomed;\nDROP TABLE s.doomed;",
    "dynamic": "DO $$ BEGIN EXECUTE 'DROP TABLE s.' || 'keep'; END $$;",
    "drop-type": "DROP TYPE s.mood CASCADE;",
    "using-null": "ALTER TABLE s.keep ALTER COLUMN v TYPE int USING NULL;",
    "delete": "DELETE FROM s.keep;",
    "update": "UPDATE s.keep SET v = 0;",
    "truncate": "TRUNCATE s.keep;",
}


@pytest.mark.parametrize("rollback", sorted(ROLLBACKS))
def test_the_rollback_guard_asks_the_server_what_would_be_lost(cli: Cli, empty_db_url: str, tmp_path: Path,
                                                                rollback: str) -> None:
    import psycopg

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_s.sql").write_text("CREATE SCHEMA s;\nCREATE TYPE s.mood AS ENUM ('ok', 'sad');\n"
                                       "CREATE TABLE s.keep (id int PRIMARY KEY, v int, m s.mood);\n")
    (folder / "0001_s.rollback.sql").write_text(ROLLBACKS[rollback] + "\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).code == 0
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO s.keep VALUES (1, 7, 'ok'), (2, 8, 'sad')")
    refused = cli("rollback", "--database", empty_db_url, "--migrations", str(folder))
    assert refused.code == 2 and "would" in refused.err and "nothing was rolled back" in refused.err, refused
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT id, v, m::text FROM s.keep ORDER BY id").fetchall() == [(1, 7, "ok"), (2, 8, "sad")]
        assert conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall() == [("0001_s",)]
    done = cli("rollback", "--database", empty_db_url, "--migrations", str(folder), "--yes")
    assert done.code == 0, done


def test_a_rollback_that_loses_nothing_needs_no_yes(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_s.sql").write_text("CREATE TABLE keep (id int);\nCREATE TABLE empty_one (id int);\n")
    (folder / "0001_s.rollback.sql").write_text("DROP TABLE empty_one;\nALTER TABLE keep ALTER COLUMN id TYPE int;\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).code == 0
    import psycopg

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO keep VALUES (1)")
    done = cli("rollback", "--database", empty_db_url, "--migrations", str(folder))
    assert done.code == 0, done


def test_a_non_transactional_rollback_needs_yes_and_says_why(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_i.sql").write_text("-- transactional: false\nCREATE TABLE t (id int);\n")
    (folder / "0001_i.rollback.sql").write_text("DROP TABLE t;\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).code == 0
    refused = cli("rollback", "--database", empty_db_url, "--migrations", str(folder))
    assert refused.code == 2 and "outside a transaction" in refused.err and "--yes" in refused.err, refused
    assert cli("rollback", "--database", empty_db_url, "--migrations", str(folder), "--yes").code == 0


def test_the_data_guard_counts_a_table_or_column_gone_unless_the_story_declares_it(empty_db_url: str) -> None:
    import psycopg

    from conftest import settings_for
    from ralph.harness.data_guard import data_lost, snapshot
    from schema_tools.harness import read_schema_on

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'); CREATE TABLE e (id int)")
        before = snapshot(conn, read_schema_on(conn, settings_for(empty_db_url)))

        def after(change: str, drops: tuple[str, ...] = ()) -> list[str]:
            with conn.transaction(force_rollback=True):
                conn.execute(change)
                return data_lost(conn, before, read_schema_on(conn, settings_for(empty_db_url)), drops)

        assert "t: the table held 1 row(s) and is gone" in after("DROP TABLE t")[0]
        assert after("DROP TABLE t", ("t",)) == [] and after("DROP TABLE t", ("public.t",)) == []
        assert "t.v: the column held values in 1 row(s) and is gone" in after("ALTER TABLE t DROP COLUMN v")[0]
        assert after("ALTER TABLE t DROP COLUMN v", ("t.v",)) == []
        assert after("ALTER TABLE t RENAME TO t2") == [] and after("ALTER TABLE t RENAME v TO w") == []
        assert after("DROP TABLE e") == []  # it held no rows
        assert after("DO $$ BEGIN EXECUTE 'DROP TABLE ' || 't'; END $$")[0].startswith("t: the table held")


# --- families an independent attacker found on the first version ---------------------------------

MORE_ROLLBACKS = {
    "drop-and-add-again": ("CREATE TABLE t (id int PRIMARY KEY, v text);", "INSERT INTO t VALUES (1, 'a')",
                           "ALTER TABLE t DROP COLUMN v;\nALTER TABLE t ADD COLUMN v text;"),
    "deferred-trigger": ("CREATE TABLE t (id int PRIMARY KEY, v text);\nCREATE TABLE flag (id int);\n"
                         "CREATE FUNCTION wipe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM t; "
                         "RETURN NULL; END $$;\nCREATE CONSTRAINT TRIGGER wipe_at_commit AFTER INSERT ON flag "
                         "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wipe();",
                         "INSERT INTO t VALUES (1, 'a')", "INSERT INTO flag VALUES (1);"),
    "large-object": ("CREATE TABLE t (id int PRIMARY KEY, v oid);", "INSERT INTO t VALUES (1, lo_from_bytea(0, 'x'))",
                     "SELECT lo_unlink(v) FROM t;"),
    "enum-rename": ("CREATE TYPE st AS ENUM ('active', 'banned');\nCREATE TABLE t (id int PRIMARY KEY, v st);",
                    "INSERT INTO t VALUES (1, 'active')",
                    "ALTER TYPE st RENAME VALUE 'active' TO 'x';\nALTER TYPE st RENAME VALUE 'banned' TO 'active';"),
    "identity-restart": ("CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);",
                         "INSERT INTO t (v) VALUES ('a'), ('b')", "ALTER TABLE t ALTER COLUMN id RESTART WITH 1;"),
    "setval": ("CREATE TABLE t (id serial PRIMARY KEY, v text);\nCREATE TABLE junk (id int);",
               "INSERT INTO t (v) VALUES ('a'), ('b')", "SELECT setval('t_id_seq', 1, false);\nDROP TABLE junk;"),
    "lookalike-bookkeeping": ("CREATE SCHEMA audit;\nCREATE TABLE audit.yoyo_lock (id int);", "INSERT INTO audit.yoyo_lock VALUES (1)",
                              "DROP TABLE audit.yoyo_lock;\nDROP SCHEMA audit;"),
}


@pytest.mark.parametrize("case", sorted(MORE_ROLLBACKS))
def test_the_rollback_guard_sees_what_a_reading_of_names_misses(cli: Cli, empty_db_url: str, tmp_path: Path,
                                                                 case: str) -> None:
    import psycopg

    up, rows, down = MORE_ROLLBACKS[case]
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_s.sql").write_text(up + "\n")
    (folder / "0001_s.rollback.sql").write_text(down + "\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).code == 0
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(rows)
        sequences = conn.execute("SELECT last_value FROM pg_sequences ORDER BY 1").fetchall()
    refused = cli("rollback", "--database", empty_db_url, "--migrations", str(folder))
    assert refused.code == 2 and "nothing was rolled back" in refused.err, refused
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall() == [("0001_s",)]
        assert conn.execute("SELECT last_value FROM pg_sequences ORDER BY 1").fetchall() == sequences


def test_a_harmless_rollback_beside_a_table_of_an_enum_type_is_not_refused(cli: Cli, empty_db_url: str,
                                                                           tmp_path: Path) -> None:
    import psycopg

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_s.sql").write_text("CREATE TYPE st AS ENUM ('a', 'b');\nCREATE TABLE u (id int, s st);\n")
    (folder / "0001_s.rollback.sql").write_text("DROP TABLE u;\nDROP TYPE st;\n")
    (folder / "0002_i.sql").write_text("-- depends: 0001_s\nCREATE INDEX u_s_idx ON u (s);\n")
    (folder / "0002_i.rollback.sql").write_text("DROP INDEX u_s_idx;\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).code == 0
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO u VALUES (1, 'b')")
    done = cli("rollback", "--database", empty_db_url, "--migrations", str(folder))
    assert done.code == 0, done


INTEGRITY_ATTACKS = {
    "view": "EXISTS (SELECT 1 FROM v_act)",
    "attribute-notation": "c.act",
    "cast": "(c.id::wrap) IS NULL",
    "mislabelled-stable": "looks_stable()",
}


@pytest.mark.parametrize("case", sorted(INTEGRITY_ATTACKS))
def test_a_rows_predicate_runs_as_a_role_that_can_only_read(cli: Cli, cluster: Cluster, empty_db_url: str,
                                                           tmp_path: Path, case: str) -> None:
    import psycopg

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("""
            CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'a');
            CREATE VIEW v_act AS SELECT (pg_create_physical_replication_slot('via_view')).slot_name AS s;
            CREATE FUNCTION act(items) RETURNS boolean LANGUAGE sql VOLATILE AS
              $$ SELECT (pg_create_physical_replication_slot('via_attr')).slot_name IS NULL $$;
            CREATE TYPE wrap AS (x int);
            CREATE FUNCTION to_wrap(int) RETURNS wrap LANGUAGE sql VOLATILE AS
              $$ SELECT ROW(((pg_create_physical_replication_slot('via_cast')).slot_name IS NULL)::int)::wrap $$;
            CREATE CAST (int AS wrap) WITH FUNCTION to_wrap(int);
            CREATE FUNCTION looks_stable() RETURNS boolean LANGUAGE sql STABLE AS
              $$ SELECT pg_create_physical_replication_slot('via_stable') IS NULL $$;""")
    checks = tmp_path / "checks.toml"
    checks.write_text(f'[[rows]]\ntable = "items"\nwhere = {json.dumps(INTEGRITY_ATTACKS[case])}\n')
    result = cli("integrity", "--database", empty_db_url, "--checks", str(checks))
    assert result.code in (1, 2) and "Traceback" not in result.err, result
    with cluster.admin() as admin:
        slots = [r[0] for r in admin.execute("SELECT slot_name FROM pg_replication_slots")]
        for slot in slots:
            admin.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
        assert scalar(admin, "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'schema_tools_reader_%'") == 0
    assert slots == []


def test_ralph_judges_a_story_whose_checks_name_a_table_not_there_yet(empty_db_url: str, tmp_path: Path) -> None:
    """The story's own expectations are read on a target that lacks the table (before its first
    migration): one finding for the table, the check itself not checked -- no crash (it was exit 3)."""
    import psycopg

    from conftest import settings_for
    from ralph.harness.attempt import story_problems
    from ralph.harness.stories import load_stories
    from ralph.harness.target import read_state

    stories = tmp_path / "stories.toml"
    stories.write_text('[[stories]]\nid = "S-1"\ntitle = "ghost"\n[stories.expect.tables.ghost]\n'
                       'columns.id = "bigint not null"\nchecks = ["id > 0"]\n')
    story = load_stories(stories)[0]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        problems = story_problems(story, read_state(conn, settings_for(empty_db_url)))
    assert problems == ["verify: table ghost does not exist"], problems
