"""Other tools' folders read as their own tool reads them: the same history written in each
layout (tests/shapes.py) reads to the same statements, and migrate, status, rollback,
check-reversible, lint and drift give what they give on it in yoyo's layout."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import psycopg
import pytest

from conftest import Cli, Cluster, settings_for
from schema_tools import commands
from schema_tools.errors import ConfigError, MigrationError
from schema_tools.findings import Check
from schema_tools.migration_files.model import Migration
from schema_tools.migration_files.read import read_folder
from schema_tools.sql.statement import Statement
from shapes import LAYOUTS, write_history, write_layout

BREAKS = {9: "rollback-residue", 11: "comment-only"}
COUNT = 14


def _shape(m: Migration) -> tuple[list[str], list[str]]:
    """The statements a migration and its rollback run, a script's own BEGIN/COMMIT aside."""
    def sql(statements: tuple[Statement, ...]) -> list[str]:
        return [s.sql for s in statements if s.kind != "TransactionStmt"]
    return sql(m.statements), sql(m.rollback_statements)


@pytest.fixture
def yoyo(tmp_path: Path) -> Path:
    folder = tmp_path / "yoyo"
    folder.mkdir()
    write_history(folder, COUNT, breaks=BREAKS)
    return folder


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_reads_to_the_statements_of_yoyo_layout(layout: str, yoyo: Path, tmp_path: Path) -> None:
    history = write_layout(tmp_path / layout, layout, 40)
    (tmp_path / "yoyo40").mkdir()
    write_history(tmp_path / "yoyo40", 40)
    got, ref = read_folder(tmp_path / layout), read_folder(tmp_path / "yoyo40")
    assert got.layout == layout
    assert list(got.ids) == history.ids  # the tool's order: not the names' string order
    assert sorted(history.ids) != history.ids or layout == "prisma"
    for a, b in zip(ref, got, strict=True):
        statements, rollback = _shape(b)
        assert statements == _shape(a)[0], (a.id, b.id)
        assert rollback == ([] if layout == "prisma" else _shape(a)[1]), (a.id, b.id)
        assert b.transactional == a.transactional, (a.id, b.id)  # sqitch's BEGIN/COMMIT: the runner's transaction


def _fingerprint(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return commands.schema_fingerprint_on(conn)


def _fresh(cluster: Cluster, name: str) -> str:
    with cluster.admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return cluster.url(name)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_migrates_rolls_back_and_lints_as_yoyo_layout(layout: str, yoyo: Path, tmp_path: Path,
                                                                   cluster: Cluster, worker_id: str) -> None:
    folder = tmp_path / layout
    history = write_layout(folder, layout, COUNT, breaks=BREAKS)
    base = f"ly_{worker_id}_{layout.replace('-', '_')}"
    ours, theirs = _fresh(cluster, f"{base}_y"), _fresh(cluster, f"{base}_l")
    ref, other = settings_for(ours, yoyo), settings_for(theirs, folder)

    done = commands.migrate(other)
    commands.migrate(ref)
    assert [mid for mid, _ in done.done] == history.ids
    assert _fingerprint(theirs) == _fingerprint(ours)
    states = commands.status(other)
    assert [(s.id, s.state) for s in states] == [(mid, "applied") for mid in history.ids]
    assert not commands.drift(other).errors and not commands.drift(ref).errors

    lint_ours = Counter((f.rule, read_folder(yoyo).ids.index(f.object)) for f in commands.lint(ref, use_cache=False).findings
                        if f.object in read_folder(yoyo).ids)
    lint_theirs = Counter((f.rule, history.ids.index(f.object)) for f in commands.lint(other, use_cache=False).findings
                          if f.object in history.ids)
    assert lint_theirs == lint_ours and lint_ours  # Prisma has no rollbacks: lint asks for none

    if layout == "prisma":
        with pytest.raises(MigrationError, match="no down migration"):
            commands.rollback(other)
        return
    commands.rollback(other, to=history.ids[11])  # the last two
    commands.rollback(ref, to=read_folder(yoyo).ids[11])
    assert _fingerprint(theirs) == _fingerprint(ours)
    assert [s.state for s in commands.status(other)] == ["applied"] * 12 + ["pending"] * (COUNT - 12)


@pytest.mark.parametrize("layout", ["flyway", "goose", "diesel", "sqitch", "prisma"])
def test_check_reversible_reports_as_on_yoyo_layout(layout: str, yoyo: Path, tmp_path: Path, empty_db_url: str) -> None:
    folder = tmp_path / layout
    write_layout(folder, layout, COUNT, breaks=BREAKS)

    def outcome(settings_folder: Path) -> list[tuple[str, ...]]:
        report = commands.check_reversible(settings_for(empty_db_url, settings_folder))
        ids = list(read_folder(settings_folder).ids)
        return sorted((f"{ids.index(c.name):03d}", c.group, _status(c), *sorted(f.rule for f in c.findings))
                      for c in report.checks if c.name in ids)

    theirs, ours = outcome(folder), outcome(yoyo)
    if layout == "prisma":  # no down migrations: nothing is checked, and nothing is said to pass
        assert theirs and all(row[2] == "skipped" for row in theirs)
    else:
        assert theirs == ours
        assert any("rollback-residue" in row for row in theirs)


def _status(check: Check) -> str:
    return "skipped" if check.skipped else "passed" if check.passed else "failed"


@pytest.mark.parametrize(("names", "layout", "expected"), [
    (["V1.2__b.sql", "V1.10__c.sql", "V1_1__a.sql", "V1.9__x.sql"], "flyway",
     ["V1_1__a", "V1.2__b", "V1.9__x", "V1.10__c"]),
    (["10_c.up.sql", "9_b.up.sql", "100_d.up.sql", "0011_e.up.sql"], "golang-migrate", ["9_b", "10_c", "0011_e", "100_d"]),
    (["2017-09-23-182408_b/", "20170921000000_a/", "2017-09-20-000000_z/"], "diesel",
     ["2017-09-20-000000_z", "20170921000000_a", "2017-09-23-182408_b"]),
    (["10_c.sql", "9_b.sql", "100_d.sql"], "goose", ["9_b", "10_c", "100_d"]),
    (["10_c.sql", "9_b.sql"], "dbmate", ["9_b", "10_c"]),
    (["10_c.up.sql", "9_b.postgres.up.sql", "9_b.up.sql", "9_b.cockroach.up.sql"], "popx", ["9_b", "10_c"]),
])
def test_order_is_the_tools_not_the_names_as_strings(names: list[str], layout: str, expected: list[str],
                                                     tmp_path: Path) -> None:
    for name in names:
        if name.endswith("/"):
            (tmp_path / name).mkdir()
            (tmp_path / name / "up.sql").write_text("SELECT 1;\n")
        elif layout == "goose":
            (tmp_path / name).write_text("-- +goose Up\nSELECT 1;\n")
        elif layout == "dbmate":
            (tmp_path / name).write_text("-- migrate:up\nSELECT 1;\n")
        else:
            (tmp_path / name).write_text("SELECT 1;\n")
    read = read_folder(tmp_path)
    assert read.layout == layout
    assert list(read.ids) == expected
    assert sorted(expected) != expected  # the string order would be wrong


def test_sqitch_plan_order_and_its_dependencies(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    for name in ("zeta", "alpha", "mid"):
        (tmp_path / "deploy" / f"{name}.sql").write_text("SELECT 1;\n")
    (tmp_path / "sqitch.plan").write_text("%project=p\nzeta 2024-01-01T00:00:00Z A <a@b>\n"
                                          "alpha [zeta] 2024-01-01T00:00:00Z A <a@b>\nmid [alpha !gone] 2024-01-01T00:00:00Z A <a@b>\n")
    read = read_folder(tmp_path)
    assert list(read.ids) == ["zeta", "alpha", "mid"]
    assert read.by_id["mid"].depends == ("alpha",)
    (tmp_path / "sqitch.plan").write_text("%project=p\nalpha [zeta] 2024-01-01T00:00:00Z A <a@b>\n"
                                          "zeta 2024-01-01T00:00:00Z A <a@b>\n")
    with pytest.raises(MigrationError, match="requires zeta, which is not earlier in the plan"):
        read_folder(tmp_path)


def test_an_ambiguous_folder_names_the_candidates_and_layout_decides(tmp_path: Path) -> None:
    (tmp_path / "V1__a.sql").write_text("CREATE TABLE a (id int);\n")
    (tmp_path / "1_b.up.sql").write_text("CREATE TABLE b (id int);\n")
    with pytest.raises(ConfigError, match="several tools: flyway, golang-migrate") as raised:
        read_folder(tmp_path)
    assert raised.value.exit_code == 2
    assert read_folder(tmp_path, layout="flyway").ids == ("V1__a",)
    assert read_folder(tmp_path, layout="golang-migrate").ids == ("1_b",)


def test_layout_on_the_command_line_and_in_pyproject(tmp_path: Path, cli: Cli, empty_db_url: str) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "V1__a.sql").write_text("CREATE TABLE a (id int);\n")
    (folder / "1_b.up.sql").write_text("CREATE TABLE b (id int);\n")
    done = cli("status", "--migrations", str(folder), "--database", empty_db_url)
    assert done.code == 2 and "flyway, golang-migrate" in done.err and "--layout" in done.err
    done = cli("status", "--migrations", str(folder), "--database", empty_db_url, "--layout", "golang-migrate")
    assert done.code == 0 and "1_b" in done.out and "V1__a" not in done.out
    (tmp_path / "pyproject.toml").write_text('[tool.schema_tools]\nmigrations = "db"\nlayout = "flyway"\n')
    done = cli("migrate", "--database", empty_db_url, "--format", "json", cwd=tmp_path)
    assert done.code == 0 and "V1__a" in done.out, done.err
    done = cli("lint", "--format", "json", cwd=tmp_path)
    assert done.code in (0, 1) and "1_b" not in done.out, done.err
    (tmp_path / "pyproject.toml").write_text('[tool.schema_tools]\nmigrations = "db"\nlayout = "liquibase"\n')
    done = cli("status", "--database", empty_db_url, cwd=tmp_path)
    assert done.code == 2 and "must be one of yoyo, flyway" in done.err


def test_only_their_tool_runs_them_migrate_stops_right_before(tmp_path: Path, cli: Cli, empty_db_url: str) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "1_first.sql").write_text("-- +goose Up\nCREATE TABLE first (id int);\n-- +goose Down\nDROP TABLE first;\n")
    (folder / "2_backfill.go").write_text("package migrations\n")
    (folder / "3_third.sql").write_text("-- +goose Up\nCREATE TABLE third (id int);\n")
    done = cli("migrate", "--migrations", str(folder), "--database", empty_db_url)
    assert done.code == 1
    assert "stopped before 2_backfill.go: only goose (a Go migration) can run it" in done.err
    assert done.err.count("\n") == 1  # one line
    status = cli("status", "--migrations", str(folder), "--database", empty_db_url)
    assert "applied" in status.out.split("1_first")[0].splitlines()[-1]
    assert "only goose (a Go migration) can run it" in status.out and status.out.count("pending") >= 2
    lint = cli("lint", "--migrations", str(folder), "--format", "json")
    assert "only goose (a Go migration) can run it" in lint.out and "third" in lint.out
    with psycopg.connect(empty_db_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert "first" in tables and "third" not in tables
    report = commands.check_reversible(settings_for(empty_db_url, folder))
    assert [(c.name, c.skipped) for c in report.checks] == [
        ("1_first", ""), ("2_backfill", "only goose (a Go migration) can run it, so it is not checked"),
        ("3_third", "")]
    assert [f.rule for f in report.findings] == ["no-rollback"]  # 3_third has no Down section: said, not skipped


def test_flyway_repeatables_run_after_versioned_and_again_when_changed(tmp_path: Path, empty_db_url: str) -> None:
    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "R__view.sql").write_text("CREATE OR REPLACE VIEW shown AS SELECT id FROM t;\n")
    (folder / "V2__more.sql").write_text("ALTER TABLE t ADD COLUMN name text;\n")
    (folder / "V1__t.sql").write_text("CREATE TABLE t (id int);\n")
    settings = settings_for(empty_db_url, folder)
    assert [mid for mid, _ in commands.migrate(settings).done] == ["V1__t", "V2__more", "R__view"]
    assert commands.migrate(settings).done == []
    (folder / "R__view.sql").write_text("CREATE OR REPLACE VIEW shown AS SELECT id, name FROM t;\n")
    assert [s.state for s in commands.status(settings)] == ["applied", "applied", "pending"]
    assert not commands.validate(settings).errors
    assert [mid for mid, _ in commands.migrate(settings).done] == ["R__view"]
    with psycopg.connect(empty_db_url) as conn:
        columns = [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                               "WHERE table_name = 'shown' ORDER BY ordinal_position")]
    assert columns == ["id", "name"]
    assert [s.state for s in commands.status(settings)] == ["applied"] * 3


@pytest.mark.parametrize("layout", LAYOUTS)
def test_generate_writes_its_draft_in_the_folders_layout(layout: str, tmp_path: Path, cluster: Cluster,
                                                         worker_id: str) -> None:
    yoyo_folder, folder = tmp_path / "yoyo", tmp_path / layout
    yoyo_folder.mkdir()
    write_history(yoyo_folder, 8)
    history = write_layout(folder, layout, 8)
    base = f"gen_{worker_id}_{layout.replace('-', '_')}"
    ours, theirs = _fresh(cluster, f"{base}_y"), _fresh(cluster, f"{base}_l")
    ref, other = settings_for(ours, yoyo_folder), settings_for(theirs, folder)
    commands.migrate(ref)
    schema = commands.read_schema(ref)
    target = next(t for t in sorted(schema.tables) if schema.tables[t].column("created_at") is not None
                  and not schema.tables[t].is_indexed_on(("created_at",)))
    expect = tmp_path / "expect.toml"
    expect.write_text(f'[tables.plan_tier]\ncolumns.id = {{type = "bigint", identity = true}}\nprimary_key = ["id"]\n'
                      f'columns.label = {{type = "text", not_null = true}}\n[tables.{target}]\nindexed = ["created_at"]\n')

    made_ours = commands.generate(ref, [expect], name="tier")
    made = commands.generate(other, [expect], name="tier")
    assert made.proof is not None and made.proof.holds, made.proof.problems if made.proof else None
    assert [c.what for c in made.draft.changes] == [c.what for c in made_ours.draft.changes]
    assert len(made.files) == 2  # a transactional file, and the index built CONCURRENTLY outside one
    after = read_folder(folder)
    assert after.layout == layout
    assert list(after.ids) == [*history.ids, *(f.id for f in made.files)]
    assert [m.transactional for m in after[-2:]] == [True, False]
    assert all(p.exists() for p in made.written)
    commands.migrate(ref)
    assert [mid for mid, _ in commands.migrate(other).done] == [*history.ids, *(f.id for f in made.files)]
    assert _fingerprint(theirs) == _fingerprint(ours)
    if layout != "prisma":
        commands.rollback(other, to=history.ids[-1])
        commands.rollback(ref, to=read_folder(yoyo_folder).ids[7])
        assert _fingerprint(theirs) == _fingerprint(ours)


def test_placeholders_in_each_tools_syntax_and_the_checksum_of_the_file_as_written(
        tmp_path: Path, cli: Cli, empty_db_url: str) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "V1__t.sql").write_text("-- made for ${owner}\nCREATE TABLE ${table_name} (id int);\n")
    (tmp_path / "pyproject.toml").write_text('[tool.schema_tools]\nmigrations = "db"\n'
                                            '[tool.schema_tools.placeholders]\nowner = "ops"\n')
    done = cli("migrate", "--database", empty_db_url, cwd=tmp_path)
    assert done.code == 2 and "V1__t.sql:2: placeholder ${table_name} has no value" in done.err
    assert "--placeholder table_name=VALUE" in done.err
    done = cli("migrate", "--database", empty_db_url, "--placeholder", "table_name=first", cwd=tmp_path)
    assert done.code == 0, done.err
    done = cli("validate", "--database", empty_db_url, "--placeholder", "table_name=second", cwd=tmp_path)
    assert done.code == 0, done.out  # another value is not an edit of the file
    with psycopg.connect(empty_db_url) as conn:
        recorded = conn.execute("SELECT checksum FROM _schema_tools_migrations").fetchone()
        assert conn.execute("SELECT to_regclass('first') IS NOT NULL").fetchone() == (True,)
    assert recorded is not None
    assert recorded[0] == read_folder(folder, placeholders={"table_name": "x", "owner": "y"})[0].checksum


@pytest.mark.parametrize(("layout", "files", "values", "expected"), [
    ("sqitch", {"sqitch.plan": "%project=p\nt 2024-01-01T00:00:00Z A <a@b>\n",
                "deploy/t.sql": "CREATE TABLE :\"tbl\" (note text DEFAULT :'note', cast_kept int DEFAULT 1::int);\n"},
     {"tbl": "people", "note": "it's"}, "CREATE TABLE \"people\" (note text DEFAULT 'it''s', cast_kept int DEFAULT 1::int);\n"),
    ("popx", {"1_t.postgres.up.sql": 'CREATE TABLE {{index .Options "Prefix"}}t ({{- index   .Options  "Col" -}} int);\n'},
     {"Prefix": "app_", "Col": "id"}, "CREATE TABLE app_t (id int);\n"),
])
def test_placeholders_of_sqitch_and_go_templates(layout: str, files: dict[str, str], values: dict[str, str],
                                                  expected: str, tmp_path: Path) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    read = read_folder(tmp_path, placeholders=values)
    assert read.layout == layout and read[0].text == expected
    missing = dict(list(values.items())[1:])
    with pytest.raises(MigrationError, match=r":1: placeholder .* has no value") as raised:
        read_folder(tmp_path, placeholders=missing)
    assert raised.value.exit_code == 2


# Their history tables, created as each tool's documentation describes them (written here).
THEIR_DDL = {
    "flyway": "CREATE TABLE flyway_schema_history (installed_rank integer NOT NULL PRIMARY KEY, version varchar(50), "
              "description varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL, "
              "checksum integer, installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(), "
              "execution_time integer NOT NULL, success boolean NOT NULL)",
    "golang-migrate": "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)",
    "goose": "CREATE TABLE goose_db_version (id serial NOT NULL PRIMARY KEY, version_id bigint NOT NULL, "
             "is_applied boolean NOT NULL, tstamp timestamp NULL DEFAULT now())",
    "dbmate": "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)",
    "diesel": "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY NOT NULL, "
              "run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    "sqitch": "CREATE SCHEMA sqitch; CREATE TABLE sqitch.changes (change_id text PRIMARY KEY, script_hash text, "
              "change text NOT NULL, project text NOT NULL, note text NOT NULL DEFAULT '', committed_at timestamptz "
              "NOT NULL DEFAULT clock_timestamp(), committer_name text NOT NULL, committer_email text NOT NULL, "
              "planned_at timestamptz NOT NULL, planner_name text NOT NULL, planner_email text NOT NULL)",
    "prisma": 'CREATE TABLE "_prisma_migrations" ("id" varchar(36) PRIMARY KEY NOT NULL, "checksum" varchar(64) NOT NULL, '
              '"finished_at" timestamptz, "migration_name" varchar(255) NOT NULL, "logs" text, "rolled_back_at" '
              'timestamptz, "started_at" timestamptz NOT NULL DEFAULT now(), "applied_steps_count" integer NOT NULL '
              'DEFAULT 0)',
}


def _their_rows(layout: str, ids: list[str], applied: int, broken: bool) -> list[str]:
    """The rows the tool writes after applying the first ``applied`` migrations (``broken``: in
    the state it leaves when the next one failed)."""
    if layout == "flyway":
        rows = [f"INSERT INTO flyway_schema_history VALUES ({n + 1}, '{mid[1:].split('__')[0].replace('_', '.')}', "
                f"'step', 'SQL', '{mid}.sql', 0, 'ops', now(), 3, true)" for n, mid in enumerate(ids[:applied])]
        return rows + ([f"INSERT INTO flyway_schema_history VALUES ({applied + 1}, "
                        f"'{ids[applied][1:].split('__')[0].replace('_', '.')}', 'step', 'SQL', '{ids[applied]}.sql', 0, "
                        "'ops', now(), 3, false)"] if broken else [])
    if layout == "golang-migrate":
        version = int(ids[applied if broken else applied - 1].split("_")[0])
        return [f"INSERT INTO schema_migrations VALUES ({version}, {'true' if broken else 'false'})"]
    if layout == "goose":
        rows = ["INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)"]
        rows += [f"INSERT INTO goose_db_version (version_id, is_applied) VALUES ({mid.split('_')[0]}, true)"
                 for mid in ids[:applied + 1]]  # one more, then rolled back by goose down
        return rows + [f"INSERT INTO goose_db_version (version_id, is_applied) VALUES ({ids[applied].split('_')[0]}, false)"]
    if layout in ("dbmate", "diesel"):
        table = "schema_migrations" if layout == "dbmate" else "__diesel_schema_migrations (version)"
        return [f"INSERT INTO {table} VALUES ('{mid.split('_')[0].replace('-', '')}')" for mid in ids[:applied]]
    if layout == "sqitch":
        return [f"INSERT INTO sqitch.changes VALUES ('{n:040d}', NULL, '{mid}', 'shapes', '', now(), 'A', 'a@b', now(), "
                "'A', 'a@b')" for n, mid in enumerate(ids[:applied])] + \
               ["INSERT INTO sqitch.changes VALUES ('f' || repeat('0', 39), NULL, 'step_1', 'other', '', now(), 'A', "
                "'a@b', now(), 'A', 'a@b')"]  # another project's change of the same name: not ours
    rows = [f"INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES "
            f"('{n}', 'x', now(), '{mid}', 1)" for n, mid in enumerate(ids[:applied])]
    return rows + ([f"INSERT INTO _prisma_migrations (id, checksum, migration_name, logs) VALUES ('{applied}', 'x', "
                    f"'{ids[applied]}', 'failed')"] if broken else [])


@pytest.mark.parametrize("layout", [layout for layout in LAYOUTS if layout != "popx"])
def test_baseline_adopt_records_what_their_history_table_lists(layout: str, tmp_path: Path, cli: Cli,
                                                               empty_db_url: str) -> None:
    folder = tmp_path / layout
    history = write_layout(folder, layout, 8)
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings, to=history.ids[4])  # the schema their tool built, then its bookkeeping alone
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE _yoyo_migration, _yoyo_log, _yoyo_version, yoyo_lock, _schema_tools_migrations, "
                     "_schema_tools_events")
        conn.execute(THEIR_DDL[layout])
        for row in _their_rows(layout, history.ids, 5, broken=False):
            conn.execute(row)
    args = ("--migrations", str(folder), "--database", empty_db_url)
    status = cli("status", *args)
    assert status.code == 0 and status.out.count("baseline --adopt' records it") == 5, status.out
    refused = cli("migrate", *args)  # never run twice what their tool ran
    assert refused.code == 2 and "pending migration(s) as applied (first: " in refused.err
    assert "baseline --adopt" in refused.err
    adopted = cli("baseline", "--adopt", *args)
    assert adopted.code == 0, adopted.err
    assert adopted.out.strip().endswith(", ".join(history.ids[:5]))
    migrated = cli("migrate", *args)
    assert migrated.code == 0, migrated.err
    assert [line.split()[1] for line in migrated.out.splitlines() if line.startswith("applied")] == history.ids[5:]
    assert [s.state for s in commands.status(settings)] == ["applied"] * 8
    assert not commands.drift(settings).errors


@pytest.mark.parametrize("layout", ["flyway", "golang-migrate", "prisma"])
def test_baseline_adopt_refuses_a_dirty_or_failed_history(layout: str, tmp_path: Path, cli: Cli,
                                                          empty_db_url: str) -> None:
    folder = tmp_path / layout
    history = write_layout(folder, layout, 6)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(THEIR_DDL[layout])
        for row in _their_rows(layout, history.ids, 3, broken=True):
            conn.execute(row)
    args = ("--migrations", str(folder), "--database", empty_db_url)
    adopted = cli("baseline", "--adopt", *args)
    assert adopted.code == 1
    named = {"flyway": f"failed migration (version {history.ids[3][1:].split('__')[0].replace('_', '.')}",
             "golang-migrate": f"dirty at version {history.ids[3].split('_')[0]}",
             "prisma": f"failed migration, {history.ids[3]}"}[layout]
    assert named in adopted.err and "nothing was recorded" in adopted.err
    assert named in cli("status", *args).out
    migrated = cli("migrate", *args)
    assert migrated.code == 1 and named in migrated.err and "nothing was applied" in migrated.err
    assert [s.state for s in commands.status(settings_for(empty_db_url, folder))] == ["pending"] * 6


def test_yoyo_post_apply_is_a_hook_run_after_each_apply_never_a_migration(tmp_path: Path, empty_db_url: str) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_log.sql").write_text("CREATE TABLE hook_log (id int GENERATED ALWAYS AS IDENTITY);\n")
    (folder / "post-apply.sql").write_text("-- run by yoyo after every apply\nINSERT INTO hook_log DEFAULT VALUES;\n")
    settings = settings_for(empty_db_url, folder)
    assert read_folder(folder).ids == ("0001_log",)
    lines: list[str] = []
    commands.migrate(settings, progress=lines.append)
    assert lines[-1] == "ran post-apply.sql (the post-apply hook)"
    commands.migrate(settings)  # nothing applied: the hook does not run
    (folder / "0002_more.sql").write_text("ALTER TABLE hook_log ADD COLUMN note text;\n")
    commands.migrate(settings)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM hook_log").fetchone() == (2,)
    assert [s.id for s in commands.status(settings)] == ["0001_log", "0002_more"]
    (folder / "0003_py.py").write_text("steps = []\n")
    with pytest.raises(MigrationError, match="Python migrations are not supported"):
        read_folder(folder)


def test_sqitch_verify_scripts_are_checks_of_verify(tmp_path: Path, cli: Cli, empty_db_url: str) -> None:
    for sub, name, text in (("deploy", "widgets", "BEGIN;\nCREATE TABLE widgets (id int);\nCOMMIT;\n"),
                            ("verify", "widgets", "BEGIN;\nSELECT id\n  FROM widgets WHERE false;\nROLLBACK;\n"),
                            ("deploy", "gadgets", "CREATE TABLE gadgets (id int);\n"),
                            ("verify", "gadgets", "SELECT id FROM gadgets WHERE false;\n")):
        (tmp_path / sub).mkdir(exist_ok=True)
        (tmp_path / sub / f"{name}.sql").write_text(text)
    (tmp_path / "sqitch.plan").write_text("%project=w\nwidgets 2024-01-01T00:00:00Z A <a@b>\n"
                                          "gadgets [widgets] 2024-01-01T00:00:00Z A <a@b>\n")
    args = ("--migrations", str(tmp_path), "--database", empty_db_url, "--no-invariants", "--format", "json")
    assert cli("migrate", "--migrations", str(tmp_path), "--database", empty_db_url, "--to", "widgets").code == 0
    done = cli("verify", *args, cwd=tmp_path)  # no pyproject there: no expectations but the scripts
    assert done.code == 0, done.out
    assert '"skipped": "gadgets is not applied"' in done.out
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE widgets")
    done = cli("verify", *args, cwd=tmp_path)
    assert done.code == 1 and "widgets.sql:2:" in done.out and 'relation \\"widgets\\" does not exist' in done.out


@pytest.mark.parametrize("command", ["migrate", "rollback", "status", "validate", "repair", "baseline", "plan",
                                     "check-reversible", "verify", "lint", "drift", "generate"])
def test_every_command_that_reads_the_folder_takes_layout_and_placeholders(command: str) -> None:
    from schema_tools.cli import build_parser

    args = build_parser().parse_args([command, "--layout", "golang-migrate", "--placeholder", "schema=app",
                                      "--placeholder", "empty="])
    assert args.layout == "golang-migrate" and args.placeholder == ["schema=app", "empty="]
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args([command, "--layout", "liquibase"])
    assert raised.value.code == 2


def test_a_placeholder_without_a_name_is_refused(tmp_path: Path) -> None:
    from schema_tools.config import load_settings

    assert dict(load_settings(cwd=tmp_path, placeholders=["a=b=c"]).placeholders) == {"a": "b=c"}
    with pytest.raises(ConfigError, match="write NAME=VALUE"):
        load_settings(cwd=tmp_path, placeholders=["novalue"])


@pytest.mark.parametrize("changed", [False, True])
def test_adopting_flyway_repeatables_by_their_checksum_from_another_schema(changed: bool, tmp_path: Path,
                                                                          empty_db_url: str) -> None:
    from schema_tools.engine.their_history import flyway_checksum

    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "V1__t.sql").write_text("CREATE TABLE t (id int);\n")
    view = "CREATE OR REPLACE VIEW shown AS SELECT id FROM t;\n"
    (folder / "R__view.sql").write_text(view)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int); CREATE VIEW shown AS SELECT id FROM t; CREATE SCHEMA flyway")
        conn.execute(THEIR_DDL["flyway"].replace("TABLE flyway_schema_history", "TABLE flyway.flyway_schema_history"))
        conn.execute("INSERT INTO flyway.flyway_schema_history VALUES (1, '1', 't', 'SQL', 'V1__t.sql', 0, 'ops', now(), "
                     "1, true), (2, NULL, 'view', 'SQL', 'R__view.sql', %s, 'ops', now(), 1, true)",
                     (flyway_checksum(view) + (1 if changed else 0),))
    settings = settings_for(empty_db_url, folder)
    _, recorded = commands.baseline(settings, adopt=True)
    assert recorded == (["V1__t"] if changed else ["V1__t", "R__view"])
    assert [mid for mid, _ in commands.migrate(settings).done] == (["R__view"] if changed else [])


def test_plan_validate_and_repair_on_a_goose_folder(tmp_path: Path, empty_db_url: str) -> None:
    folder = tmp_path / "db"
    history = write_layout(folder, "goose", 6)
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings, to=history.ids[3])
    planned = commands.plan(settings)
    assert [p.id for p in planned] == history.ids[4:]
    assert planned[0].file == str(folder / f"{history.ids[4]}.sql")
    assert all(s.line > 1 for p in planned for s in p.statements)  # lines of the file, after the annotations
    assert not commands.validate(settings).errors
    first = folder / f"{history.ids[0]}.sql"
    first.write_text(first.read_text().replace("-- +goose Down", "-- +goose Down\n-- a note in the down section"))
    assert not commands.validate(settings).errors  # the Down section is not what was applied
    first.write_text(first.read_text().replace("-- +goose Up\n", "-- +goose Up\n-- edited\n"))
    assert [f.rule for f in commands.validate(settings).errors] == ["edited-after-apply"]
    assert commands.repair(settings)
    assert not commands.validate(settings).errors
