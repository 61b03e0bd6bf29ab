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
