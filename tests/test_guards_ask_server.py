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
