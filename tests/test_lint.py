"""lint: each rule against its fixture (a true positive and a near miss), our migrations, a
corpus of real-world SQL that must never crash it, and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from schema_tools.findings import Severity
from schema_tools.linter import RULES, lint_migrations
from schema_tools.engine.files import Migration, parse_directives

LINT_FIXTURES = FIXTURES / "lint"
SECTION = re.compile(r"^-- migration: (\S+)\s*$")
EXPECT = re.compile(r"^-- expect(-file|-next-line)?: (.+)$")


def fixture_migrations(path: Path) -> tuple[list[Migration], set[tuple[str, int]]]:
    """Sections of a fixture as migrations that keep the file's line numbers, and the expected
    (rule, line) pairs from its ``-- expect`` comments."""
    lines = path.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if SECTION.match(line)]
    migrations = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        text = "\n".join(line if start <= i < end else "" for i, line in enumerate(lines)) + "\n"
        section = lines[start:end]
        rollback = None if any(line.strip() == "-- no-rollback" for line in section) else ""
        migrations.append(Migration(SECTION.match(lines[start]).group(1), path, text, rollback,  # type: ignore[union-attr]
                                    parse_directives(text, str(path))))
    expected = set()
    for i, line in enumerate(lines):
        match = EXPECT.match(line)
        if not match:
            continue
        if match.group(1) == "-file":
            target = 1
        elif match.group(1) == "-next-line":
            target = i + 2
        else:
            target = next(j + 1 for j in range(i + 1, len(lines))
                          if lines[j].strip() and not lines[j].lstrip().startswith("--"))
        expected |= {(rule.strip(), target) for rule in match.group(2).split(",")}
    return migrations, expected


FIXTURE_FILES = sorted(LINT_FIXTURES.glob("*.sql"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_rule_fixture(path: Path) -> None:
    rules = set(path.stem.split("+"))
    migrations, expected = fixture_migrations(path)
    assert expected, "each fixture states at least one expected finding"
    report = lint_migrations(migrations)
    found = {(f.rule, f.line) for f in report.findings if f.rule in rules}
    assert found == expected


def test_every_rule_has_a_fixture() -> None:
    covered = {rule for p in FIXTURE_FILES for rule in p.stem.split("+")}
    distribution = {r for r in RULES if r.startswith("distribution-")}  # fixture schemas: test_distribution.py
    assert set(RULES) - covered - distribution == {"not-modelled"}  # a note, exercised by the corpus test


def test_every_rule_module_documents_a_bad_and_a_good_example() -> None:
    for module in (ROOT / "schema_tools" / "lint" / "rules").glob("*.py"):
        if module.name != "__init__.py":
            text = module.read_text()
            assert "Bad" in text and "Good" in text, module.name


def test_our_migrations_lint_clean(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("lint")
    assert result.code == 0, result.out
    assert "no problems" in result.out


CORPUS = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE SCHEMA IF NOT EXISTS billing;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE billing.accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
    slug text GENERATED ALWAYS AS (lower(name)) STORED, created_at timestamptz DEFAULT now());
CREATE TABLE measurements (city_id int NOT NULL, logdate date NOT NULL, peaktemp int) PARTITION BY RANGE (logdate);
CREATE TABLE measurements_y2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := now(); -- semicolons; inside; the body
    RETURN NEW;
END;
$$;
CREATE TRIGGER accounts_touch BEFORE UPDATE ON billing.accounts FOR EACH ROW EXECUTE FUNCTION touch();
DO $do$ BEGIN
    EXECUTE 'ALTER TABLE measurements ADD COLUMN note text';
END $do$;
COMMENT ON TABLE billing.accounts IS 'Accounts; one per customer';
COMMENT ON COLUMN billing.accounts.name IS $$it's the display name; unique-ish$$;
ALTER TABLE billing.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY accounts_owner ON billing.accounts USING (name = current_user);
CREATE VIEW v_accounts AS SELECT id, name FROM billing.accounts WHERE name <> ';';
CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM billing.accounts;
CREATE INDEX accounts_name_trgm ON billing.accounts USING gin (name gin_trgm_ops);
ALTER TYPE mood ADD VALUE 'ecstatic';
GRANT SELECT ON billing.accounts TO PUBLIC;
CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE BEGIN ATOMIC SELECT a + b; END;
INSERT INTO billing.accounts (name) VALUES ('x; y'), (E'it\\'s');
WITH moved AS (DELETE FROM measurements RETURNING *) INSERT INTO measurements SELECT * FROM moved;
CREATE RULE r AS ON INSERT TO measurements DO ALSO (SELECT 1; SELECT 2);
ALTER TABLE billing.accounts ALTER COLUMN name SET STATISTICS 500;
ALTER TABLE billing.accounts ADD COLUMN tags text[] DEFAULT '{}', ADD COLUMN ts tsvector;
CREATE SEQUENCE s START 1;
SELECT setval('s', 42);
ALTER TABLE measurements DETACH PARTITION measurements_y2026;
DROP VIEW v_accounts;
"""


def test_lint_never_raises_on_sql_postgresql_accepts(empty_db_url: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(empty_db_url, autocommit=True) as conn:  # PostgreSQL accepts every statement
        conn.execute(CORPUS.encode())
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_corpus.sql").write_text(CORPUS)
    (folder / "0001_corpus.rollback.sql").write_text("SELECT 1;\n")
    from schema_tools.engine.files import read_migrations

    report = lint_migrations(read_migrations(folder))
    notes = [f for f in report.findings if f.severity is Severity.NOTE]
    assert any("not modelled" in f.message for f in notes)  # the DO block, kept and reported
    assert all(f.file and f.line for f in report.findings)


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit"])
def test_lint_output_formats(cli, fmt: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("lint", str(LINT_FIXTURES.parent / "history"), "--format", fmt)
    assert result.code == 1
    if fmt in ("json", "sarif"):
        json.loads(result.out)
    assert "constraint-not-valid" in result.out


def test_lint_text_is_file_line_col_rule_message(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("lint", str(FIXTURES / "history"))
    assert re.search(r"^/\S+0005_backfill\.sql:\d+:1: error constraint-not-valid: ", result.out, re.M), result.out
    assert "    fix: add it NOT VALID" in result.out


def test_lint_bad_path_is_exit_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("x")
    result = cli("lint", str(tmp_path / "notes.txt"))
    assert result.code == 2 and "not a migration file or folder" in result.err


def test_lint_settings_disable_and_warn(tmp_path: Path) -> None:
    migrations, _ = fixture_migrations(LINT_FIXTURES / "rename.sql")
    assert lint_migrations(migrations, disabled=["rename"]).findings == []
    warned = lint_migrations(migrations, warn=["rename"])
    assert {f.severity for f in warned.findings} == {Severity.WARNING} and warned.exit_code == 0


def test_the_cache_skips_an_unchanged_history_and_relints_an_edited_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import schema_tools.linter as lint_package
    from schema_tools.engine.files import read_migrations

    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "history", folder)
    cache = tmp_path / "cache"
    parsed: list[str] = []
    real = lint_package.parse_migration
    monkeypatch.setattr(lint_package, "parse_migration", lambda m: parsed.append(m.id) or real(m))

    cold = lint_migrations(read_migrations(folder), cache=cache)
    assert len(parsed) == 5
    parsed.clear()
    warm = lint_migrations(read_migrations(folder), cache=cache)
    assert parsed == [] and warm.findings == cold.findings

    last = folder / "0005_backfill.sql"
    last.write_text(last.read_text() + "CREATE INDEX tickets_title_idx ON tickets (title);\n")
    edited = lint_migrations(read_migrations(folder), cache=cache)
    assert parsed == ["0005_backfill"]  # the state before it came from the cache
    assert {f.rule for f in edited.findings} - {f.rule for f in cold.findings} == {"index-not-concurrently"}

    parsed.clear()
    first = folder / "0001_extensions_types.sql"
    first.write_text(first.read_text().replace("name text NOT NULL", "name varchar(20) NOT NULL"))
    changed = lint_migrations(read_migrations(folder), cache=cache)
    assert len(parsed) == 5 and "varchar-n" in {f.rule for f in changed.findings}
    assert lint_migrations(read_migrations(folder)).findings == changed.findings  # the same as without a cache


def _history_with_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, list[str]]:
    import shutil

    import schema_tools.linter as lint_package

    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "history", folder)
    parsed: list[str] = []
    real = lint_package.parse_migration
    monkeypatch.setattr(lint_package, "parse_migration", lambda m: parsed.append(m.id) or real(m))
    return folder, tmp_path / "cache", parsed


def test_the_cache_is_json_data_and_a_bad_entry_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from schema_tools.engine.files import read_migrations

    folder, cache, parsed = _history_with_cache(tmp_path, monkeypatch)
    truth = lint_migrations(read_migrations(folder)).findings
    assert lint_migrations(read_migrations(folder), cache=cache).findings == truth
    entries = sorted(cache.iterdir())
    assert [p.suffix for p in entries] == [".json", ".json"]
    assert all(json.loads(p.read_text())["format"] for p in entries)  # plain data
    final = next(p for p in entries if p.name.endswith(".final.json"))
    state = next(p for p in entries if p.name.endswith(".state.json"))
    good_final, good_state = final.read_text(), state.read_text()
    (cache / "planted.pickle").write_bytes(b"cos\nsystem\n(S'touch /tmp/pwned'\ntR.")  # never read; removed

    for damage in ("{not json", json.dumps({"format": 2, "key": "x", "kind": "final", "value": [1, 2, 3]}),
                   good_final.replace('"line":', '"lines":'), good_final.replace('"error"', '"fatal"')):
        final.write_text(damage)
        state.write_text("[]")
        parsed.clear()
        assert lint_migrations(read_migrations(folder), cache=cache).findings == truth
        assert len(parsed) == 5  # nothing trusted: every migration parsed again
    assert not (cache / "planted.pickle").exists()

    # A final entry written under another key ("foreign") is not taken: the state before the
    # last migration (valid, rebuilt above) is, so only the last migration is parsed again.
    other = json.loads(good_state)
    final.write_text(json.dumps({**json.loads(good_final), "key": other["key"]}))
    parsed.clear()
    assert lint_migrations(read_migrations(folder), cache=cache).findings == truth
    assert parsed == ["0005_backfill"]


def test_the_cache_key_follows_sqlglot_s_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlglot

    from schema_tools.engine.files import read_migrations
    from schema_tools.linter import cache as lint_cache

    folder, cache, parsed = _history_with_cache(tmp_path, monkeypatch)
    lint_migrations(read_migrations(folder), cache=cache)
    parsed.clear()
    lint_cache._code_version.cache_clear()
    monkeypatch.setattr(sqlglot, "__version__", "0.0.0-other")
    try:
        lint_migrations(read_migrations(folder), cache=cache)
    finally:
        lint_cache._code_version.cache_clear()
    assert len(parsed) == 5


def test_no_pickle_anywhere_in_the_packages() -> None:
    from conftest import ROOT

    users = [str(p.relative_to(ROOT)) for folder in ("schema_tools", "ralph") for p in (ROOT / folder).rglob("*.py")
             if "pickle" in p.read_text()]
    assert users == []
