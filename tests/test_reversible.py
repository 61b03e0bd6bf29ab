"""check-reversible on histories shaped like real projects': every migration checked, exactly the
broken ones named, what was not checked reported as skipped (never passed), findings that say
what differs; the whole-chain mode; rollback refusing a declared-irreversible migration."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
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
    assert by_rule(report) == {"0100_step_100": ["reapply-differs", "rollback-residue"],
                               "0150_step_150": ["rollback-fails"]}
    skipped = {c.name: c.skipped for c in report.checks if c.skipped}
    assert skipped == {"0030_step_30": "declared irreversible: 0030_step_30.rollback.sql holds no statement",
                       "0060_step_60": "declared irreversible: the legacy data cannot be restored"}
    assert sum(c.passed for c in report.checks) == 196  # past both breaks: each later one really ran
    residue = next(f for f in report.checks[99].findings if f.rule == "rollback-residue")
    assert residue.detail == ("left behind: column public.account_97.legacy_100",) or \
        any("legacy_100" in line for line in residue.detail)

    data = json.loads(render(report, "json"))
    irreversible = next(c for c in data["checks"] if c["name"] == "0060_step_60")
    assert irreversible["passed"] is False and irreversible["skipped"].startswith("declared irreversible")
    suite = ET.fromstring(render(report, "junit")).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("200", "2", "2")
    text = render(report, "text")
    assert "not checked (1, declared irreversible: the legacy data cannot be restored): 0060_step_60" in text
    assert text.splitlines()[-1] == "check-reversible: 200 checks, 3 errors, 2 skipped (not checked)"


def test_the_chain_mode_finds_the_first_break_and_skips_what_lies_beyond(db_url: str, shaped: Path) -> None:
    report = commands.check_reversible(settings_for(db_url, shaped), chain=True)
    assert by_rule(report) == {"0150_step_150": ["rollback-fails"]}  # rolled back from the top: 150 breaks first
    down = [c for c in report.checks if c.group == "chain: roll back"]
    assert [c.name for c in down if c.passed] == [f"{i:04d}_step_{i}" for i in range(200, 150, -1)]
    assert all(c.skipped == "not rolled back: the chain broke at 0150_step_150" for c in down[51:])
    again = [c for c in report.checks if c.group == "chain: apply again"]
    assert again and all(c.skipped for c in again)


def test_the_chain_stops_at_a_declared_irreversible_migration_and_applies_again_above_it(
        db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    write_history(folder, 80, breaks={40: "rollback-residue", 60: "irreversible"})
    report = commands.check_reversible(settings_for(db_url, folder), chain=True)
    assert by_rule(report) == {}
    stop = next(c for c in report.checks if c.name == "0060_step_60" and c.group == "chain: roll back")
    assert stop.skipped == "the chain cannot go below 0060_step_60: declared irreversible: the legacy data cannot be restored"
    again = [c for c in report.checks if c.group == "chain: apply again"]
    assert [c.name for c in again] == [f"{i:04d}_step_{i}" for i in range(61, 81)] and all(c.passed for c in again)
    assert not any(c.passed for c in report.checks if c.name == "0040_step_40")  # below the stop: not checked


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
    write_migration(folder, "0002_drop", "-- depends: 0001_t\nALTER TABLE t DROP COLUMN legacy;\n", "-- Not reversible\n")
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    with pytest.raises(MigrationError, match="0002_drop cannot be rolled back: declared irreversible"):
        commands.rollback(settings)
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM _schema_tools_migrations") == 2
