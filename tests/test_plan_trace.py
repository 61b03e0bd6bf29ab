"""plan: the static lock table (the strongest lock of an ALTER TABLE's subcommands), and --trace,
which runs the pending migrations on a scratch copy and reads the locks from pg_locks."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from conftest import LOCKING_TRIGGER, Cli, scalar, settings_for, write_migration
from schema_tools import commands
from schema_tools.sql.locks import lock_for

SHAPES = [
    ("ALTER TABLE person ALTER COLUMN name SET NOT NULL, ADD CONSTRAINT person_team_fk FOREIGN KEY (team_id) "
     "REFERENCES team (id)", "ACCESS EXCLUSIVE"),
    ("ALTER TABLE person ADD CONSTRAINT person_team_fk2 FOREIGN KEY (team_id) REFERENCES team (id) NOT VALID",
     "SHARE ROW EXCLUSIVE"),
    ("ALTER TABLE person VALIDATE CONSTRAINT person_team_fk2", "SHARE UPDATE EXCLUSIVE"),
    ("ALTER TABLE person SET (fillfactor = 90), ADD COLUMN bio text", "ACCESS EXCLUSIVE"),
    ("CREATE INDEX person_name_idx ON person (name)", "SHARE"),
    ("DROP INDEX person_name_idx", "ACCESS EXCLUSIVE"),
    ("COMMENT ON TABLE person IS 'people, with commas, inside'", "SHARE UPDATE EXCLUSIVE"),
]


@pytest.mark.parametrize("sql,lock", SHAPES)
def test_the_static_table_takes_the_strongest_subcommand(sql: str, lock: str) -> None:
    assert lock_for(sql).lock == lock


def test_the_trace_sees_what_the_server_takes_and_agrees_with_the_table(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_base.sql").write_text("CREATE TABLE team (id bigint PRIMARY KEY);\n"
                                          "CREATE TABLE person (id bigint PRIMARY KEY, name text, team_id bigint);\n")
    (folder / "0002_changes.sql").write_text("-- depends: 0001_base\n" + "".join(f"{sql};\n" for sql, _ in SHAPES))
    (folder / "0003_outside.sql").write_text("-- depends: 0002_changes\n-- transactional: false\n"
                                             "CREATE INDEX CONCURRENTLY person_bio_idx ON person (bio);\n")
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings, to="0001_base")
    planned = commands.plan(settings, trace=True)
    assert [p.id for p in planned] == ["0002_changes", "0003_outside"]
    changes = planned[0].statements
    assert [s.traced for s in changes] == ["agrees"] * len(SHAPES), [(s.sql[:40], s.lock, s.observed) for s in changes]
    assert changes[0].observed is not None and changes[0].observed[0] == "ACCESS EXCLUSIVE on public.person"
    assert "SHARE ROW EXCLUSIVE on public.team" in changes[0].observed
    assert planned[1].statements[0].observed is None and "outside a transaction" in planned[1].statements[0].traced
    with psycopg.connect(empty_db_url) as conn:  # the target itself was not touched
        assert scalar(conn, "SELECT count(*) FROM pg_indexes WHERE indexname = 'person_bio_idx'") == 0
        assert scalar(conn, "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'person_team_fk%%'") == 0


def test_the_trace_flags_a_lock_the_table_cannot_see(empty_db_url: str, tmp_path: Path) -> None:
    """An INSERT whose trigger locks another table: the static table says ROW EXCLUSIVE."""
    folder = tmp_path / "m"
    write_migration(folder, "0001_base", LOCKING_TRIGGER)
    write_migration(folder, "0002_seed", "-- depends: 0001_base\nINSERT INTO person VALUES (1);\n"
                    "ALTER TABLE person DISABLE TRIGGER USER;\n")
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings, to="0001_base")
    insert, disable = commands.plan(settings, trace=True)[0].statements
    assert insert.lock == "ROW EXCLUSIVE" and insert.traced == "differs"
    assert insert.observed == ("EXCLUSIVE on public.team", "ROW EXCLUSIVE on public.person")
    assert disable.lock == "SHARE ROW EXCLUSIVE" and disable.traced == "agrees", disable  # ENABLE/DISABLE TRIGGER


def test_the_verdict_rules() -> None:
    from schema_tools.engine.trace import verdict

    assert verdict("SHARE ROW EXCLUSIVE", {("ACCESS EXCLUSIVE", "public.person")}) == "differs"
    assert verdict("none on tables", {("ACCESS SHARE", "public.person")}) == "agrees"
    assert verdict("none on tables", {("ROW EXCLUSIVE", "public.person")}) == "differs"
    assert verdict("not analysed", {("ACCESS EXCLUSIVE", "public.person")}) == "agrees"


def test_the_cli_shows_the_observed_locks(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_base.sql").write_text("CREATE TABLE person (id bigint PRIMARY KEY, name text);\n")
    (folder / "0002_index.sql").write_text("-- depends: 0001_base\nCREATE INDEX person_name_idx ON person (name);\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder), "--to", "0001_base").code == 0
    result = cli("plan", "--database", empty_db_url, "--migrations", str(folder), "--trace")
    assert result.code == 0, result.err
    assert "observed: SHARE on public.person" in result.out, result.out


def test_the_trace_sees_a_drop_table_and_leaves_new_tables_unjudged(empty_db_url: str, tmp_path: Path) -> None:
    """DROP TABLE's lock is read from pg_locks alone (the table's pg_class row is gone by then);
    a statement on a table made earlier in the same migration is not 'differs', and a statement
    on an existing table next to it is still judged."""
    folder = tmp_path / "m"
    write_migration(folder, "0001_base", "CREATE TABLE team (id bigint PRIMARY KEY);\nCREATE TABLE old (id int);\n")
    write_migration(folder, "0002_swap", "-- depends: 0001_base\nCREATE TABLE fresh (id int);\n"
                    "INSERT INTO fresh VALUES (1);\nCREATE INDEX fresh_id ON fresh (id);\nDROP TABLE old;\n"
                    "ALTER TABLE team ADD COLUMN note text;\n")
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings, to="0001_base")
    statements = commands.plan(settings, trace=True)[0].statements
    traced = [(s.sql.split()[0] + " " + s.sql.split()[1], s.traced, s.observed) for s in statements]
    assert [t[1] for t in traced[1:3]] == [traced[1][1]] * 2 and traced[1][1].startswith("not traced: it took no lock")
    assert traced[3][1:] == ("agrees", ("ACCESS EXCLUSIVE on public.old",)), traced[3]
    assert traced[4][1] == "agrees" and traced[4][2] == ("ACCESS EXCLUSIVE on public.team",), traced[4]
