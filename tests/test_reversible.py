"""check-reversible on histories shaped like real projects': every migration checked, exactly the
broken ones named, what was not checked reported as skipped (never passed), findings that say
what differs; the whole-chain mode; rollback refusing a declared-irreversible migration."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import psycopg
import pytest

from conftest import scalar, settings_for, write_migration
from schema_tools import commands
from schema_tools.errors import MigrationError
from schema_tools.findings import Report, render
from shapes import write_history

BREAKS = {30: "comment-only", 60: "irreversible", 100: "rollback-residue", 150: "rollback-fails"}


def by_rule(report: Report) -> dict[str, list[str]]:
    return {c.name: sorted({f.rule for f in c.findings}) for c in report.checks if c.findings}


@pytest.fixture(scope="module")
def shaped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shaped") / "migrations"
    folder.mkdir()
    write_history(folder, 200, breaks=BREAKS)
    return folder


def test_every_migration_is_checked_and_exactly_the_broken_ones_are_named(db_url: str, shaped: Path) -> None:
    report = commands.check_reversible(settings_for(db_url, shaped))
    assert len(report.checks) == 200
    assert by_rule(report) == {"0030_step_30": ["reapply-differs", "rollback-residue"],  # a rollback doing nothing
                               "0100_step_100": ["reapply-differs", "rollback-residue"],
                               "0150_step_150": ["rollback-fails"]}
    skipped = {c.name: c.skipped for c in report.checks if c.skipped}
    assert skipped == {"0060_step_60": "declared irreversible: the legacy data cannot be restored"}
    assert sum(c.passed for c in report.checks) == 196  # past every break: each later one really ran
    residue = next(f for f in report.checks[99].findings if f.rule == "rollback-residue")
    assert residue.detail == ("left behind: column public.account_97.legacy_100",) or \
        any("legacy_100" in line for line in residue.detail)

    data = json.loads(render(report, "json"))
    irreversible = next(c for c in data["checks"] if c["name"] == "0060_step_60")
    assert irreversible["passed"] is False and irreversible["skipped"].startswith("declared irreversible")
    suite = ET.fromstring(render(report, "junit")).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("200", "3", "1")
    text = render(report, "text")
    assert "not checked (1, declared irreversible: the legacy data cannot be restored): 0060_step_60" in text
    assert text.splitlines()[-1] == "check-reversible: 200 checks, 3 errors, 1 skipped (not checked)"  # failed checks


def test_the_chain_mode_rebuilds_past_each_break_and_reports_every_one(db_url: str, shaped: Path) -> None:
    report = commands.check_reversible(settings_for(db_url, shaped), chain=True)
    assert by_rule(report) == {"0030_step_30": ["rollback-residue"], "0100_step_100": ["rollback-residue"],
                               "0150_step_150": ["rollback-fails"]}
    down = [c for c in report.checks if c.group == "chain: roll back"]
    assert [c.name for c in down] == [f"{i:04d}_step_{i}" for i in range(200, 0, -1)]
    assert {c.name: c.skipped for c in down if c.skipped} == {
        "0060_step_60": "not rolled back: declared irreversible: the legacy data cannot be restored"}
    assert sum(c.passed for c in down) == 196
    again = [c for c in report.checks if c.group == "chain: apply again"]
    assert len(again) == 200 and all(c.passed for c in again), [c for c in again if not c.passed][:3]
    assert render(report, "text").splitlines()[-1] == "check-reversible: 400 checks, 3 errors, 1 skipped (not checked)"


def test_the_chain_goes_on_below_a_declared_irreversible_migration(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    write_history(folder, 80, breaks={40: "rollback-residue", 60: "irreversible"})
    report = commands.check_reversible(settings_for(db_url, folder), chain=True)
    assert by_rule(report) == {"0040_step_40": ["rollback-residue"]}  # below the irreversible one: reached
    stop = next(c for c in report.checks if c.name == "0060_step_60" and c.group == "chain: roll back")
    assert stop.skipped == "not rolled back: declared irreversible: the legacy data cannot be restored"
    again = [c for c in report.checks if c.group == "chain: apply again"]
    assert [c.name for c in again] == [f"{i:04d}_step_{i}" for i in range(1, 81)] and all(c.passed for c in again)


def test_the_chain_names_a_residue_with_what_is_left(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    write_history(folder, 60, breaks={40: "rollback-residue"})
    report = commands.check_reversible(settings_for(db_url, folder), chain=True)
    assert by_rule(report) == {"0040_step_40": ["rollback-residue"]}
    finding = next(f for f in report.findings)
    assert "the chain breaks at 0040_step_40" in finding.message
    assert any(line.startswith("left behind: column ") and "legacy_40" in line for line in finding.detail)


def test_a_changed_definition_is_shown_as_the_lines_that_differ(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    columns = ",\n".join(f"    c{i} integer" for i in range(40))
    write_migration(folder, "0001_t", f"CREATE TABLE t (\n{columns}\n);\nCREATE VIEW v AS SELECT * FROM t WHERE c1 > 0;\n"
          "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n", "DROP VIEW v;\nDROP FUNCTION f();\nDROP TABLE t;\n")
    write_migration(folder, "0002_v", "-- depends: 0001_t\nCREATE OR REPLACE VIEW v AS SELECT * FROM t WHERE c1 > 1;\n"
          "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;\n",
          "SELECT 1;\n")  # forgets to restore both
    write_migration(folder, "0003_comment", "-- depends: 0002_v\nALTER TABLE t ADD COLUMN note text;\n"
          "COMMENT ON COLUMN t.note IS 'why';\n", "ALTER TABLE t DROP COLUMN note;\n")
    report = commands.check_reversible(settings_for(db_url, folder))
    assert by_rule(report) == {"0002_v": ["rollback-residue"]}  # the comment, re-added on a new attnum, is the same
    finding = report.checks[1].findings[0]
    assert "2 changed" in finding.message
    assert "differs: relation public.v" in finding.detail and "differs: function public.f()" in finding.detail
    assert "  -  WHERE t.c1 > 0;" in finding.detail and "  +  WHERE t.c1 > 1;" in finding.detail
    assert len(finding.detail) <= 10 and all(len(line) <= 170 for line in finding.detail)


def test_a_migration_that_does_not_apply_leaves_the_rest_skipped_not_passed(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    write_migration(folder, "0001_ok", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    write_migration(folder, "0002_bad", "-- depends: 0001_ok\nALTER TABLE nope ADD COLUMN x int;\n", "SELECT 1;\n")
    write_migration(folder, "0003_later", "-- depends: 0002_bad\nCREATE TABLE b (id int);\n", "DROP TABLE b;\n")
    report = commands.check_reversible(settings_for(db_url, folder))
    assert [(c.name, c.passed, c.skipped) for c in report.checks] == [
        ("0001_ok", True, ""), ("0002_bad", False, ""), ("0003_later", False, "0002_bad before them does not apply")]
    assert json.loads(render(report, "json"))["checks"][2]["passed"] is False


def test_rollback_refuses_a_declared_irreversible_migration(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    write_migration(folder, "0001_t", "CREATE TABLE t (id int, legacy int);\n", "DROP TABLE t;\n")
    write_migration(folder, "0002_drop", "-- depends: 0001_t\n-- irreversible: the column's data is gone\n"
                    "ALTER TABLE t DROP COLUMN legacy;\n", "-- Not reversible\n")
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    with pytest.raises(MigrationError, match="0002_drop cannot be rolled back: declared irreversible"):
        commands.rollback(settings)
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM _schema_tools_migrations") == 2


def test_a_comment_only_rollback_does_nothing_and_passes_when_the_migration_changed_no_schema(
        empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    write_migration(folder, "0001_t", "CREATE TABLE t (id int);\n", "DROP TABLE t;\n")
    write_migration(folder, "0002_data", "-- depends: 0001_t\nINSERT INTO t VALUES (1);\n", "-- nothing to undo\n")
    write_migration(folder, "0003_empty", "-- depends: 0002_data\nSELECT 1;\n", "")
    write_migration(folder, "0004_col", "-- depends: 0003_empty\nALTER TABLE t ADD COLUMN c int;\n", "-- Not reversible\n")
    settings = settings_for(empty_db_url, folder)
    report = commands.check_reversible(settings)
    assert [(c.name, c.passed, c.skipped) for c in report.checks[:3]] == [
        ("0001_t", True, ""), ("0002_data", True, ""), ("0003_empty", True, "")]
    assert by_rule(report) == {"0004_col": ["reapply-differs", "rollback-residue"]}  # checked: it leaves c behind
    commands.migrate(settings)
    done = commands.rollback(settings, to="0001_t")  # runs them: nothing refused as 'irreversible'
    assert [mid for mid, _ in done.done] == ["0004_col", "0003_empty", "0002_data"]
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM _schema_tools_migrations") == 1
        assert scalar(conn, "SELECT count(*) FROM t") == 1  # a rollback that does nothing did nothing


def test_constants_the_clock_folded_in_are_not_a_difference(db_url: str, tmp_path: Path) -> None:
    """A view holding 'now' re-created from the same text later is the same view; a rollback that
    restores another constant date is still a residue."""
    import time

    folder = tmp_path / "m"
    folder.mkdir()
    view = ("CREATE VIEW recent AS SELECT id FROM t WHERE at > 'now'::timestamptz - interval '1 day' "
            "AND day >= CURRENT_DATE AND day < 'today'::date + 1;\n")
    write_migration(folder, "0001_t", "CREATE TABLE t (id int, at timestamptz, day date);\n" + view,
                    "DROP VIEW recent;\nDROP TABLE t;\n")
    write_migration(folder, "0002_v", "-- depends: 0001_t\nDROP VIEW recent;\nCREATE VIEW recent AS SELECT id FROM t;\n",
                    "DROP VIEW recent;\n" + view)
    write_migration(folder, "0003_w", "-- depends: 0002_v\nCREATE VIEW old AS SELECT id FROM t WHERE day > '2001-01-01';\n",
                    "DROP VIEW old;\n")
    write_migration(folder, "0004_x", "-- depends: 0003_w\nCREATE OR REPLACE VIEW old AS SELECT id FROM t WHERE day > "
                    "'2003-01-01';\n", "CREATE OR REPLACE VIEW old AS SELECT id FROM t WHERE day > '2002-01-01';\n")
    time.sleep(0.01)
    report = commands.check_reversible(settings_for(db_url, folder))
    assert by_rule(report) == {"0004_x": ["rollback-residue"]}  # 0002's rollback re-creates 'now' later: the same
    chain = commands.check_reversible(settings_for(db_url, folder), chain=True)
    assert by_rule(chain) == {"0004_x": ["rollback-residue"]}
    with psycopg.connect(db_url, autocommit=True) as conn:  # the server does fold the clock into the text
        conn.execute("CREATE TEMP VIEW probe AS SELECT 'now'::timestamptz AS at")
        assert str(date.today().year) in scalar(conn, "SELECT pg_get_viewdef('probe')")
