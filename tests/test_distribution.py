"""The opt-in distribution profile: what would stop distributing the schema by tenant_id."""

from __future__ import annotations

from pathlib import Path

import psycopg

from conftest import FIXTURES, MIGRATIONS, Cli
from schema_tools.findings import Severity
from schema_tools.linter import lint_migrations
from schema_tools.migration_files.read import read_folder

PROFILE = {"distribution-primary-key", "distribution-unique", "distribution-foreign-key", "distribution-reference-table"}


def profile(folder: Path) -> set[tuple[str, str]]:
    report = lint_migrations(read_folder(folder), distribution_column="tenant_id")
    return {(f.rule, f.object) for f in report.findings if f.rule in PROFILE}


def test_known_cases_are_flagged() -> None:
    assert profile(FIXTURES / "distribution" / "bad") == {
        ("distribution-primary-key", "api_keys.api_keys_pkey"),
        ("distribution-unique", "api_keys.api_keys_key_hash_key"),
        ("distribution-primary-key", "usage_events.usage_events_pkey"),
        ("distribution-unique", "usage_events.usage_events_idempotency_key_key"),
        ("distribution-foreign-key", "usage_events.usage_events_api_key_id_fkey"),
        ("distribution-reference-table", "plans"),
        ("distribution-reference-table", "tenants"),
    }


def test_a_schema_built_to_be_distributed_is_silent_but_for_notes() -> None:
    report = lint_migrations(read_folder(FIXTURES / "distribution" / "good"), distribution_column="tenant_id")
    assert {f.severity for f in report.findings if f.rule in PROFILE} == {Severity.NOTE}
    assert {(f.rule, f.object) for f in report.findings if f.rule in PROFILE} == {
        ("distribution-reference-table", "plans"), ("distribution-reference-table", "tenants")}


def test_the_good_fixture_is_valid_postgresql(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute((FIXTURES / "distribution" / "good" / "0001_schema.sql").read_text().encode())


def test_the_seed_idempotency_key_case_and_its_fix() -> None:
    report = lint_migrations(read_folder(MIGRATIONS), distribution_column="tenant_id")
    finding = next(f for f in report.findings if f.object == "usage_events.usage_events_idempotency_key_key")
    assert finding.file and finding.file.endswith("0003_api_keys_usage.sql")
    assert "UNIQUE (tenant_id, idempotency_key)" in finding.hint


def test_off_by_default(cli: Cli) -> None:
    result = cli("lint")
    assert result.code == 0 and "distribution" not in result.out
