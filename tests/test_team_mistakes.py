"""The mistakes teams make with a migrations folder: two branches that took the same number, a
folder with nothing in it, and lint disagreeing with the runner about the lock_timeout."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Cli, write_migration


def findings(out: str) -> list[dict[str, object]]:
    return [f for c in json.loads(out)["checks"] for f in c["findings"]]


def two_branches(folder: Path) -> None:
    write_migration(folder, "0001_users", "CREATE TABLE users (id bigint PRIMARY KEY);\n", "DROP TABLE users;\n")
    write_migration(folder, "0002_orders", "-- depends: 0001_users\nCREATE TABLE orders (id bigint PRIMARY KEY);\n",
                    "DROP TABLE orders;\n")
    write_migration(folder, "0002_plans", "-- depends: 0001_users\nCREATE TABLE plans (id bigint PRIMARY KEY);\n",
                    "DROP TABLE plans;\n")


def test_lint_names_both_files_of_a_duplicate_version_prefix(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    two_branches(folder)
    result = cli("lint", "--migrations", str(folder), "--format", "json")
    assert result.code == 1, result.out + result.err
    [dup] = [f for f in findings(result.out) if f["rule"] == "duplicate-version"]
    assert "0002_orders.sql and 0002_plans.sql share the version prefix 0002" in str(dup["message"])
    assert dup["severity"] == "error" and str(dup["file"]).endswith("0002_plans.sql")
    write_migration(folder, "0003_renumbered", "-- depends: 0002_orders\nSELECT 1;\n")
    (folder / "0002_plans.sql").unlink()
    (folder / "0002_plans.rollback.sql").unlink()
    assert cli("lint", "--migrations", str(folder)).code == 0


def test_validate_names_both_files_of_a_duplicate_version_prefix(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    two_branches(folder)
    result = cli("validate", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 1, result.out + result.err
    assert "0002_orders.sql and 0002_plans.sql share the version prefix 0002" in result.out


def test_an_empty_migrations_folder_is_a_warning(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    lint = cli("lint", "--migrations", str(folder), "--format", "json")
    [empty] = findings(lint.out)
    assert lint.code == 0 and empty["rule"] == "empty-folder" and empty["severity"] == "warning", lint.out
    assert "holds no migration" in cli("lint", str(folder)).out
    validate = cli("validate", "--database", empty_db_url, "--migrations", str(folder))
    assert validate.code == 0 and "warning empty-folder" in validate.out, validate.out


def test_lint_knows_the_runners_default_lock_timeout_as_plan_shows_it(cli: Cli, empty_db_url: str,
                                                                      tmp_path: Path) -> None:
    write_migration(tmp_path / "m", "0001_users", "CREATE TABLE users (id bigint PRIMARY KEY);\n")
    write_migration(tmp_path / "m", "0002_plan", "-- depends: 0001_users\nALTER TABLE users ADD COLUMN plan text;\n")
    pyproject = tmp_path / "pyproject.toml"
    for configured, default, expected in (("", "5s", False), ("lock_timeout = '3s'", "3s", False),
                                          ("lock_timeout = '0'", "0", True)):
        pyproject.write_text(f"[tool.schema_tools]\nmigrations = 'm'\n{configured}\n")
        plan = cli("plan", "--database", empty_db_url, "--format", "json", cwd=tmp_path)
        assert [m["lock_timeout"] for m in json.loads(plan.out)["migrations"]] == [default, default], plan.out
        lint = cli("lint", "--format", "json", cwd=tmp_path)
        said = [f for f in findings(lint.out) if f["rule"] == "missing-lock-timeout"]
        assert bool(said) is expected, (configured, lint.out)
        if said:
            assert "with lock_timeout 0 (no limit: [tool.schema_tools] lock_timeout)" in str(said[0]["message"])


def test_new_writes_the_next_migration_and_its_rollback_depending_on_the_head(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.schema_tools]\nmigrations = 'db/m'\n")
    (tmp_path / "db" / "m").mkdir(parents=True)
    first = cli("new", "create users", cwd=tmp_path)
    assert first.code == 0 and first.out.splitlines() == ["db/m/0001_create_users.sql",
                                                          "db/m/0001_create_users.rollback.sql"], first
    assert not (tmp_path / "db" / "m" / "0001_create_users.sql").read_text().startswith("-- depends:")
    two_branches(tmp_path / "other")
    write_migration(tmp_path / "other", "0003_after", "-- depends: 0002_orders 0002_plans\nSELECT 1;\n")
    second = cli("new", "Add-Email!", "--migrations", str(tmp_path / "other"), cwd=tmp_path)
    assert second.code == 0 and second.out.splitlines() == ["other/0004_add_email.sql",
                                                            "other/0004_add_email.rollback.sql"], second
    text = (tmp_path / "other" / "0004_add_email.sql").read_text()
    assert text.splitlines()[0] == "-- depends: 0003_after" and "-- Add-Email!" in text
    assert "undo 0004_add_email.sql" in (tmp_path / "other" / "0004_add_email.rollback.sql").read_text()
    lint = cli("lint", "--migrations", str(tmp_path / "other"), "--format", "json")  # it reads as the next one
    assert not [f for f in findings(lint.out) if f["rule"] == "syntax-error"], lint.out
    refused = cli("new", "!!", "--migrations", str(tmp_path / "other"))
    assert refused.code == 2 and "has no letter or digit" in refused.err
    assert sorted(p.name for p in (tmp_path / "other").glob("0004*")) == ["0004_add_email.rollback.sql",
                                                                          "0004_add_email.sql"]
