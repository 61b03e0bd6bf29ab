"""drift: the schema the files declare against the live database, compared by meaning."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

from conftest import MIGRATIONS, ROOT, settings_for
from schema_tools import commands
from schema_tools.commands import drift

STORIES = ROOT / "ralph" / "stories.toml"


def drift_messages(url: str, folder: Path = MIGRATIONS) -> list[str]:
    report = drift(settings_for(url, folder), [STORIES])
    return [f.message for f in report.errors]


def test_no_drift_on_a_database_the_files_built(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("drift", "--database", db_url)
    assert result.code == 0, result.out
    assert drift_messages(db_url) == []


def test_a_column_added_by_hand(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE tenants ADD COLUMN plan text")
    assert drift_messages(db_url) == ["column tenants.plan exists in the database but no migration declares it",
                                      "tenants has columns beyond the expected: plan"]  # database vs expectations


def test_an_index_dropped_by_hand(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP INDEX usage_events_service_idx")
    messages = drift_messages(db_url)
    assert "index usage_events_service_idx on usage_events is declared by the files but missing in the database" in messages
    assert "no valid index on usage_events leads with (service)" in messages  # the database vs the expectations


def test_a_migration_edited_after_it_was_applied(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    commands.migrate(settings_for(empty_db_url, folder))
    path = folder / "0002_core_tables.sql"
    path.write_text(path.read_text().replace("device_info        text CHECK", "device_info        varchar(500) CHECK")
                    .replace("role IN ('owner', 'admin', 'member')", "role IN ('owner', 'member')"))
    messages = drift_messages(empty_db_url, folder)
    assert "column sessions.device_info: type character varying(500) in the files, text in the database" in messages
    assert any(m.startswith("CHECK role IN ('owner', 'member') on tenant_users in the files only") for m in messages)
    assert any("tenant_users.role allows (owner, member)" in m for m in messages)  # files vs expectations


def test_no_drift_on_a_database_built_from_a_real_shaped_history(empty_db_url: str, tmp_path: Path) -> None:
    """Quoted numeric defaults, DEFAULT NULL, IN lists on varchar, implied foreign key columns,
    operator classes, expression and partial indexes, columns renamed without COLUMN inside
    checks and expression indexes, renamed indexes and constraints: zero findings. A change made
    by hand afterwards is still found."""
    from shapes import write_history

    folder = tmp_path / "m"
    folder.mkdir()
    write_history(folder, 220, seed=3)
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    report = drift(settings, [])
    assert report.errors == [], [f.message for f in report.errors][:10]
    assert not [f for f in report.findings if f.rule == "not-modelled"], report.findings[:5]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        table, check, default_column = conn.execute(
            "SELECT conrelid::regclass::text, conname, (SELECT attname FROM pg_attribute WHERE attrelid = conrelid "
            "AND attname LIKE 'amount%%') FROM pg_constraint WHERE contype = 'c' AND conname LIKE '%%status%%' "
            "LIMIT 1").fetchone()
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{check}"')
        conn.execute(f'ALTER TABLE {table} ALTER COLUMN "{default_column}" SET DEFAULT 1')
    messages = [f.message for f in drift(settings, []).errors]
    assert any(m.startswith("CHECK ") and m.endswith(f"on {table} in the files only") for m in messages), messages
    assert any(f"{table}.{default_column}: default '0' in the files, 1 in the database" in m for m in messages), messages
